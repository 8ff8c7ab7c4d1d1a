/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place that knows about kernel versions. Force-included by Kbuild
 * into every file of the module, so protocol code carries no version #ifs.
 *
 * ETP supports Linux 6.1 to 6.18. It is written in the newest spelling of
 * each kernel API; every entry below supplies that spelling where an older
 * kernel lacks it, and names the upstream change it follows. A feature test
 * (#ifndef on a macro) is used where a change left one; a version test where
 * it did not (sparse 0.6.4 does not know __has_include). Built against
 * Debian's 6.1 and 6.12 headers and booted on both kernels in the test VMs;
 * the entries for 6.6, 6.8, 6.17 and 6.18 were written from the upstream
 * headers.
 */
#ifndef _ETP_COMPAT_H
#define _ETP_COMPAT_H

#include <linux/version.h>
#include <linux/timer.h>
#include <net/sock.h>
#include <net/net_namespace.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "ETP supports Linux 6.1 to 6.18: this kernel is older than 6.1"
#endif

/*
 * Linux 6.12 ("move asm/unaligned.h to linux/unaligned.h") gave the
 * unaligned accessors a generic header.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/*
 * Linux 6.10 (f3d93817fba3, "net: add <net/proto_memory.h>") moved the
 * protocol memory accounting helpers (sk_memory_allocated(),
 * sk_under_memory_pressure(), ...) out of <net/sock.h>.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#include <net/proto_memory.h>
#endif

/* Linux 6.16 renamed from_timer() to timer_container_of(). */
#ifndef timer_container_of
#define timer_container_of(var, callback_timer, timer_fieldname) \
	container_of(callback_timer, typeof(*(var)), timer_fieldname)
#endif

/*
 * Linux 6.17 (e84a4927a404, "net: annotate races around sk->sk_uid") added
 * sk_uid() and then removed sock_i_uid(). Older kernels read the same field;
 * a macro, so a stable kernel that backported sk_uid() still builds.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 17, 0)
#define sk_uid(sk) READ_ONCE((sk)->sk_uid)
#endif

/*
 * Linux 6.6 added register_net_sysctl_sz(), which takes the table's size;
 * from then on register_net_sysctl() is a macro around it. Before, the
 * table ends at an empty entry, so ETP's tables always carry one (sized
 * out of the count given to register_net_sysctl_sz()).
 */
#ifndef register_net_sysctl
#define register_net_sysctl_sz(net, path, table, size) \
	register_net_sysctl(net, path, table)
#endif

/*
 * Linux 6.10 (92ef0fd55ac8, "net: change proto and proto_ops accept type")
 * passes accept()'s flags and error in struct proto_accept_arg. Before,
 * struct proto's accept takes them as arguments: ETP_PROTO_ACCEPT(fn)
 * defines that older entry point around fn, and etp_proto_accept(fn) names
 * the one struct proto wants on this kernel.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 10, 0)
struct proto_accept_arg {
	int flags;
	int err;
	int is_empty;
	bool kern;
};

#define ETP_PROTO_ACCEPT(fn)						\
static struct sock *fn##_args(struct sock *sk, int flags, int *err,	\
			      bool kern)				\
{									\
	struct proto_accept_arg arg = { .flags = flags, .kern = kern };	\
	struct sock *child = fn(sk, &arg);				\
									\
	*err = arg.err;							\
	return child;							\
}

#define etp_proto_accept(fn) fn##_args
#else
#define ETP_PROTO_ACCEPT(fn)
#define etp_proto_accept(fn) fn
#endif

/*
 * Linux 6.5 (e1d001fa5b47, "net: ioctl: Use kernel memory on protocol
 * ioctl callbacks") hands struct proto's ioctl an int in kernel memory and
 * copies it out in sk_ioctl(). Before, the protocol gets the user pointer:
 * ETP_PROTO_IOCTL(fn) defines that entry point around fn, copying the
 * answer out itself.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
#define ETP_PROTO_IOCTL(fn)						\
static int fn##_user(struct sock *sk, int cmd, unsigned long arg)	\
{									\
	int karg, err = fn(sk, cmd, &karg);				\
									\
	return err ?: put_user(karg, (int __user *)arg);		\
}

#define etp_proto_ioctl(fn) fn##_user
#else
#define ETP_PROTO_IOCTL(fn)
#define etp_proto_ioctl(fn) fn
#endif

/*
 * Linux 6.10 (2c92ca849fcc, "tracing/treewide: Remove second parameter of
 * __assign_str()") takes the source of a __string() field from its
 * declaration. The trace header writes etp_assign_str(field, src).
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 10, 0)
#define etp_assign_str(dst, src) __assign_str(dst, src)
#else
#define etp_assign_str(dst, src) __assign_str(dst)
#endif

#endif /* _ETP_COMPAT_H */
