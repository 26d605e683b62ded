"""Stands in for the get-pip.py that ansible-test downloads to put pip into its sanity venvs.

ansible-test fetches get-pip.py from ci-files.testing.ansible.com, which a machine with only the
package registries cannot reach; it documents saving the script by hand under
~/.ansible/test/cache/. This one takes the same arguments (pip options and the pinned
packages, pip==X first) and gets pip from Python's own ensurepip, then the pinned versions from
the package registry.
"""

import subprocess
import sys

GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}

# In a process of its own: ensurepip points PIP_CONFIG_FILE at /dev/null in its process, which
# would hide the machine's pip configuration (index, certificates) from the install below.
subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True, stdout=subprocess.DEVNULL)
pip_arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY_OPTIONS]
subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *pip_arguments], check=True)
