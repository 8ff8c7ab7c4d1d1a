/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place that knows about kernel versions. Force-included by Kbuild
 * into every file of the module, so protocol code carries no version #ifs.
 * ETP is written against Linux 6.12 (Debian 12's 6.12 kernels) and uses the
 * newest spelling of an API; entries here supply it where it is missing.
 */
#ifndef _ETP_COMPAT_H
#define _ETP_COMPAT_H

#include <linux/timer.h>

/* Linux 6.16 renamed from_timer() to timer_container_of(). */
#ifndef timer_container_of
#define timer_container_of(var, callback_timer, timer_fieldname) \
	container_of(callback_timer, typeof(*(var)), timer_fieldname)
#endif

#endif /* _ETP_COMPAT_H */
