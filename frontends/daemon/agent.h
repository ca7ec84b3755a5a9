/* SPDX-License-Identifier: Apache-2.0 */
/* kubed agent (agent.c). */
#ifndef KUBED_AGENT_H
#define KUBED_AGENT_H

/* argv[0] is "agent".  The process's exit code. */
int kubed_agent_main(int argc, char **argv);
/* kubed agent --hollow N (hollow.c); argv[0] is "agent". */
int kubed_hollow_main(int argc, char **argv);

#endif /* KUBED_AGENT_H */
