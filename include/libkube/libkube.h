/* SPDX-License-Identifier: Apache-2.0 */
/* Umbrella header: everything libkube offers. */
#ifndef LIBKUBE_H
#define LIBKUBE_H

#include <libkube/core.h>
#include <libkube/http.h>
#include <libkube/api.h>
#include <libkube/store.h>
#include <libkube/client.h>
#include <libkube/kit.h>
#include <libkube/apiserver.h>
#include <libkube/scheduler.h>
#include <libkube/controller.h>
#include <libkube/runtime.h>
#include <libkube/image.h>
#include <libkube/net.h>
#include <libkube/dns.h>
#include <libkube/node.h>
#include <libkube/server.h>
#include <libkube/stream.h>
#include <libkube/node.h>
#include <libkube/kubectl.h>

#endif /* LIBKUBE_H */
