#!/bin/bash
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkcs11_lib.sh"
skip_all "not yet"
