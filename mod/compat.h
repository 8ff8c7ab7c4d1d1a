/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place that knows about kernel versions. Force-included by Kbuild
 * into every file of the module, so protocol code carries no version #ifs.
 * ETP targets Linux 6.12 (Debian 12's 6.12 kernels); entries here cover
 * API differences of neighbouring kernels.
 */
#ifndef _ETP_COMPAT_H
#define _ETP_COMPAT_H

#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
#error "ETP needs Linux 6.12 or later (struct proto_accept_arg, register_net_sysctl_sz)"
#endif

#endif /* _ETP_COMPAT_H */
