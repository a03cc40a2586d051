int cli_export(int argc, char **argv);
int cli_export(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 2;
}
