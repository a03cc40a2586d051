/* freeswitch-conf/: every file parses as XML (each include file as
 * FreeSWITCH reads it), the bindings point at /fs/xml with a timeout, and
 * check-static.sh passes on our tree and catches a vanilla one. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tap.h"
#include "util.h"

static char *conf(const char *rel)
{
    w3_buf_t p = {0};
    w3_buf_printf(&p, "%s/freeswitch-conf/%s", h_env("W3_SOURCE_ROOT"), rel);
    return p.data;
}

int main(void)
{
    char *out = NULL;
    w3_buf_t cmd = {0};
    char *root = conf("");
    w3_buf_printf(&cmd, "cd %s && find . -name '*.xml' | sort", root);
    h_run(cmd.data, &out);
    int files = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        char *path = conf(line + 2);
        char *xml = NULL;
        size_t len = 0;
        w3_read_file(path, 1 << 20, &xml, &len);
        ok(xml && h_xpath_count(xml, len, "/*") == 1, "%s parses as XML", line + 2);
        free(xml);
        free(path);
        files++;
    }
    ok(files >= 8, "freeswitch-conf has its files (%d)", files);
    free(out);

    char *path = conf("autoload_configs/xml_curl.conf.xml");
    char *xml = NULL;
    size_t len = 0;
    w3_read_file(path, 1 << 20, &xml, &len);
    char *url = xml ? h_xpath(xml, len, "(//binding/param[@name='gateway-url'])[1]/@value") : NULL;
    ok(url && strstr(url, "/fs/xml") != NULL, "xml_curl binding points at /fs/xml (%s)", url ? url : "none");
    char *bindings = xml ? h_xpath(xml, len, "(//binding/param[@name='gateway-url'])[1]/@bindings") : NULL;
    ok(bindings && strstr(bindings, "directory") && strstr(bindings, "dialplan"), "binds directory and dialplan");
    char *timeout = xml ? h_xpath(xml, len, "(//binding/param[@name='timeout'])[1]/@value") : NULL;
    ok(timeout && atoi(timeout) > 0, "binding has a timeout (%s s)", timeout ? timeout : "none");
    /* the README states the response limit the file sets */
    char *max = xml ? h_xpath(xml, len, "(//binding/param[@name='response-max-bytes'])[1]/@value") : NULL;
    char *readme_path = conf("README.md");
    char *readme = NULL;
    size_t readme_len = 0;
    w3_read_file(readme_path, 1 << 20, &readme, &readme_len);
    char want[64] = "";
    if (max && atol(max) % (1024 * 1024) == 0)
        snprintf(want, sizeof(want), "%ld MiB response limit", atol(max) / (1024 * 1024));
    ok(want[0] && readme && strstr(readme, want), "freeswitch-conf/README.md says '%s' (response-max-bytes %s)", want,
       max ? max : "none");
    free(readme);
    free(readme_path);
    free(max);
    free(url);
    free(bindings);
    free(timeout);
    free(xml);
    free(path);

    path = conf("autoload_configs/json_cdr.conf.xml");
    w3_read_file(path, 1 << 20, &xml, &len);
    url = xml ? h_xpath(xml, len, "//param[@name='url']/@value") : NULL;
    ok(url && strstr(url, "/fs/cdr") != NULL, "json_cdr posts to /fs/cdr");
    free(url);
    free(xml);
    free(path);

    path = conf("sip_profiles/internal.xml");
    w3_read_file(path, 1 << 20, &xml, &len);
    ok(xml && h_xpath_count(xml, len,
                            "//param[@name='force-register-domain' or @name='force-register-db-domain' "
                            "or @name='force-subscription-domain']") == 0,
       "internal profile forces no register/subscription domain (multi-tenant realms)");
    free(xml);
    free(path);

    w3_buf_free(&cmd);
    w3_buf_printf(&cmd, "sh %scheck-static.sh %s 2>&1", root, root);
    int rc = h_run(cmd.data, &out);
    is_int(rc, 0, "check-static.sh passes on freeswitch-conf itself");
    ok(out && strstr(out, "OK") != NULL, "and says OK");
    free(out);

    /* a vanilla-like tree: demo users with password 1234 */
    char *dir = h_tmpdir();
    w3_buf_t mk = {0};
    w3_buf_printf(&mk, "mkdir -p %s/directory/default %s/dialplan %s/autoload_configs %s/sip_profiles", dir, dir, dir,
                  dir);
    h_run(mk.data, NULL);
    w3_buf_free(&mk);
    w3_buf_t sub = {0};
    w3_buf_printf(&sub, "%s/directory/default", dir);
    free(h_write_file(sub.data, "1000.xml",
                      "<include>\n  <user id=\"1000\">\n    <params>\n      <param name=\"password\" "
                      "value=\"$${default_password}\"/>\n    </params>\n  </user>\n</include>\n"));
    w3_buf_free(&sub);
    free(h_write_file(dir, "vars.xml",
                      "<include>\n  <X-PRE-PROCESS cmd=\"set\" data=\"default_password=1234\"/>\n</include>\n"));
    w3_buf_free(&cmd);
    w3_buf_printf(&cmd, "sh %scheck-static.sh %s 2>&1", root, dir);
    rc = h_run(cmd.data, &out);
    ok(rc != 0, "check-static.sh fails on a vanilla tree (exit %d)", rc);
    ok(out && strstr(out, "1234") != NULL, "it reports the default password");
    ok(out && strstr(out, "directory") != NULL, "it reports the static users");
    free(out);
    h_rmrf(dir);
    free(dir);
    w3_buf_free(&cmd);
    free(root);
    return tap_done();
}
