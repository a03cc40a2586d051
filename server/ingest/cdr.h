/* Parsing of the CDRs FreeSWITCH posts (SPEC §7) into one row per leg.
 * Accepted, by sniffing the body (the Content-Type lies when FreeSWITCH's
 * disable-100-continue is on): raw JSON (mod_json_cdr default), cdr=<%-encoded
 * JSON> (encode=true), cdr=<base64 JSON or XML> (encode=base64, '+' and '/'
 * raw: never form-decoded), cdr=<%-encoded XML> (mod_xml_cdr encode=true),
 * cdr=<raw XML> (encode=false) and raw XML (encode=textxml). Variable values
 * are %-decoded once.
 *
 * Field mapping (documented in the README):
 *   fs_core_uuid = core-uuid;  fs_uuid = variables.uuid (else ?uuid=, "a_" cut)
 *   leg = "B" when variables.originating_leg_uuid exists, else "A"
 *   call_id = A: uuid, B: originating_leg_uuid
 *   from_uri/to_uri = "sip:" + sip_from_uri / sip_req_uri
 *   start/answer/end_ts = *_uepoch as ISO-8601 UTC (answer absent when 0)
 *   billsec = billsec;  hangup_cause = hangup_cause
 *   disposition = ANSWERED when answered; else USER_BUSY → BUSY;
 *     NO_ANSWER, NO_USER_RESPONSE, ORIGINATOR_CANCEL, ALLOTTED_TIMEOUT,
 *     NORMAL_CLEARING → NO ANSWER; any other cause → FAILED
 *   direction = w3_direction, else public context → inbound, else internal;
 *     the context is that of the callflow entry with the highest profile_index
 *     (the newest: FreeSWITCH writes it first, in JSON and in XML)
 *   did_e164 = w3_did, ext_number = w3_ext, recording_url = w3_recording_url
 *   meta_json = the whole original document (JSON; XML as a JSON string)
 *
 * Ownership: cdr_rec_free() releases every string of a record. */
#ifndef W3_CDR_H
#define W3_CDR_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

/* The record is the data-access layer's CDR row. */
typedef db_cdr_t cdr_rec_t;

/* 0, or -EINVAL with *why naming what did not parse. query may be NULL.
 * The record may point into body (meta_json, when meta_json_borrowed): keep
 * body alive and unchanged until cdr_rec_free(rec). */
int cdr_parse(const char *body, size_t len, const char *query, cdr_rec_t *rec, const char **why);
void cdr_rec_free(cdr_rec_t *rec);
/* µs since the epoch → "YYYY-MM-DDTHH:MM:SS.mmmZ" in out[32]; false when 0/bad. */
bool cdr_iso_from_uepoch(const char *uepoch, char out[32]);

#endif
