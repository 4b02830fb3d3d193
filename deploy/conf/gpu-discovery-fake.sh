#!/usr/bin/env bash
# A fake Spark resource discovery script for machines without GPUs (tests, CPU-only development): prints the JSON that
# Spark reads from a discovery script (a serialized org.apache.spark.resource.ResourceInformation), e.g.
#
#   {"name": "gpu", "addresses": ["0","1"]}
#
# The addresses come from FAKE_GPU_ADDRESSES, a comma- or space-separated list (default "0,1" when the variable is
# unset; set it to the empty string for a host with no GPU). Each address must be made of letters, digits and
# '.', '_', ':' or '-' (real ones are nvidia-smi indices such as "0", "1"); anything else is refused with exit code 1,
# so no address can break the JSON. Spark runs the script with no argument and fails to start the worker, executor or
# driver whose script exits non-zero. Use it in place of gpu-discovery.sh, e.g.
#
#   --conf spark.executor.resource.gpu.discoveryScript=$PWD/deploy/conf/gpu-discovery-fake.sh
set -euo pipefail
set -f  # no globbing of the unquoted address list

list=${FAKE_GPU_ADDRESSES-0,1}
json=
for a in ${list//,/ }; do
  if [[ ! $a =~ ^[A-Za-z0-9._:-]+$ ]]; then
    echo "gpu-discovery-fake.sh: bad address '$a' in FAKE_GPU_ADDRESSES='$list' (letters, digits, . _ : - only)" >&2
    exit 1
  fi
  json+=${json:+,}\"$a\"
done
printf '{"name": "gpu", "addresses": [%s]}\n' "$json"
