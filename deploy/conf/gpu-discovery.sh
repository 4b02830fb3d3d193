#!/usr/bin/env bash
# Spark resource discovery script for NVIDIA GPUs: prints the JSON that Spark reads from a discovery script (a serialized
# org.apache.spark.resource.ResourceInformation) with the index of every GPU that nvidia-smi lists, e.g.
#
#   {"name": "gpu", "addresses": ["0","1"]}
#
# The addresses are nvidia-smi's indices, which ignore CUDA_VISIBLE_DEVICES: they are physical device numbers of the
# host (or of the container, where the container runtime exposes only some GPUs). org.sparklm.gpu.GpuBinding maps an
# address to the device index ND4J sees (see its javadoc). Point spark.worker.resource.gpu.discoveryScript
# (standalone) or spark.executor.resource.gpu.discoveryScript (YARN, Kubernetes) at this file: conf/spark-gpu.conf.
#
# Exit codes: 0 with the JSON on standard output; 1 with a message on standard error when nvidia-smi is missing, fails
# or lists no GPU (Spark then refuses to start the worker or executor, which is better than running on the CPU).
set -euo pipefail

if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "gpu-discovery.sh: nvidia-smi not found on PATH: no NVIDIA driver on ${HOSTNAME:-this host}?" >&2
  exit 1
fi
if ! out=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>&1); then
  echo "gpu-discovery.sh: 'nvidia-smi --query-gpu=index --format=csv,noheader' failed on ${HOSTNAME:-this host}: $out" >&2
  exit 1
fi
json=
while read -r idx; do
  [[ -z $idx ]] && continue
  if [[ ! $idx =~ ^[0-9]+$ ]]; then
    echo "gpu-discovery.sh: unexpected line '$idx' from nvidia-smi on ${HOSTNAME:-this host} (expected a GPU index)" >&2
    exit 1
  fi
  json+=${json:+,}\"$idx\"
done <<< "$out"
if [[ -z $json ]]; then
  echo "gpu-discovery.sh: nvidia-smi lists no GPU on ${HOSTNAME:-this host}" >&2
  exit 1
fi
printf '{"name": "gpu", "addresses": [%s]}\n' "$json"
