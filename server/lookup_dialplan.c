/* section=dialplan: filled in by the dialplan work (SPEC §6). Until then
 * every call is refused explicitly in the requested context. */
#include "lookup.h"

void lookup_dialplan(const lookup_ctx_t *ctx, const form_t *f, lookup_result_t *res)
{
    (void)ctx;
    (void)f;
    res->what = "dialplan";
    lookup_not_found(res);
}
