#!/usr/bin/env bash
# Build the exchange service image. The build context is the repository root.
# Usage: build_docker_image.sh [extra docker build arguments...]
# Set IMAGE to override the tag (default montyexchange/exchange:latest).
set -euo pipefail

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd -- "${script_dir}/../../.." && pwd)"
dockerfile="${script_dir}/Dockerfile"
image="${IMAGE:-montyexchange/exchange:latest}"

echo "Building ${image} from ${repo_root}"
docker build -f "${dockerfile}" -t "${image}" "$@" "${repo_root}"
