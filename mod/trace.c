// SPDX-License-Identifier: GPL-2.0
/* The one place ETP's tracepoints (trace.h) are instantiated. */
#include "etp.h"
#define CREATE_TRACE_POINTS
#include "trace.h"

/* For the state changes made with inet_sk_set_state() directly. */
void etp_trace_state(struct sock *sk, int state, const char *why)
{
	trace_etp_state_change(sk, sk->sk_state, state, why);
}
