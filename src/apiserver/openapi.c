/* SPDX-License-Identifier: Apache-2.0 */
/* /openapi/v2.  kubectl asks for the protobuf encoding of the document and
 * refuses a JSON one; an empty protobuf document (an empty body) means "no
 * schema", which turns client-side validation off while every command
 * keeps working.  /openapi/v3 answers 404 (kubectl falls back to v2). */
#include "apiserver/internal.h"

void openapi_serve(struct req *r) {
  if (r->method != M_GET && r->method != M_HEAD) {
    reply_status(r, KUBE_REASON_METHOD_NOT_ALLOWED,
                 "method %s is not allowed on /openapi/v2", r->method_str);
    return;
  }
  if (r->done)
    return;
  r->done = true;
  r->tp->reply(r, 200, "application/octet-stream", "", 0);
}
