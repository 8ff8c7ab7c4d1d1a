# SPDX-License-Identifier: GPL-2.0
#
# make            build etp.ko for the running kernel
# make KDIR=DIR   build against another kernel's build tree
# make install    install into /lib/modules/$(uname -r)/extra
# make check      W=1 and sparse (C=2) build of the module
# make style      checkpatch.pl --strict over mod/ (KDIR must hold scripts/)
# make userspace  build the tools in userspace/
# make clean

KDIR ?= /lib/modules/$(shell uname -r)/build
PWD := $(CURDIR)
CHECKPATCH ?= $(KDIR)/scripts/checkpatch.pl

all: module

module:
	$(MAKE) -C $(KDIR) M=$(PWD) modules

install: module
	$(MAKE) -C $(KDIR) M=$(PWD) modules_install

check:
	$(MAKE) -C $(KDIR) M=$(PWD) W=1 C=2 CF=-D__CHECK_ENDIAN__ modules

# compat.h is where kernel versions are compared and where a macro drops an
# argument that one kernel needs and another does not: checkpatch's rules
# against exactly that are off for it, and only for it.
CHECKPATCH_FLAGS := --strict --no-tree --show-types --ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG

style:
	$(CHECKPATCH) $(CHECKPATCH_FLAGS) -f $(filter-out mod/compat.h,$(wildcard mod/*.c mod/*.h)) \
		mod/include/uapi/linux/*.h
	$(CHECKPATCH) $(CHECKPATCH_FLAGS),LINUX_VERSION_CODE,CONSTANT_COMPARISON,MACRO_ARG_UNUSED \
		-f mod/compat.h

userspace:
	$(MAKE) -C userspace

clean:
	$(MAKE) -C $(KDIR) M=$(PWD) clean || true
	$(MAKE) -C userspace clean || true

.PHONY: all module install check style userspace clean
