# SPDX-License-Identifier: Apache-2.0
"""Print where `ninja install` puts the libkube module for this interpreter
and install prefix: the directory of the system's site-packages that this
prefix owns, so `import libkube` works after an install without setting
PYTHONPATH (Debian: /usr/local/lib/python3.X/dist-packages for /usr/local,
/usr/lib/python3/dist-packages for /usr; elsewhere the posix_prefix
scheme's platlib under the prefix)."""
import sys
import sysconfig

prefix = sys.argv[1]
schemes = sysconfig.get_scheme_names()
default = getattr(sysconfig, "get_default_scheme", lambda: "posix_prefix")()
if default == "posix_local" and prefix == "/usr/local":
    print(sysconfig.get_path("platlib", "posix_local"))
elif prefix == "/usr" and "deb_system" in schemes:
    print(sysconfig.get_path("platlib", "deb_system"))
else:
    print(sysconfig.get_path("platlib", "posix_prefix",
                             vars={"base": prefix, "platbase": prefix}))
