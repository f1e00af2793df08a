#!/usr/bin/env bash
# Records real nvidia-smi output on a GPU machine (fixtures for the GPU reader's tests) and,
# when node is there, runs the agent's own reader against it. Writes everything under $OUT.
set -u
out=${OUT:-/tmp/gpu-check}; mkdir -p "$out"
q=index,uuid,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw,power.limit,ecc.errors.uncorrected.volatile.total
nvidia-smi --version > "$out/version.txt" 2>&1
nvidia-smi -L > "$out/list.txt" 2>&1
for f in clocks_event_reasons.active clocks_throttle_reasons.active; do
  nvidia-smi --query-gpu=$q,$f --format=csv,noheader,nounits > "$out/$f.csv" 2> "$out/$f.err"; echo $? > "$out/$f.rc"
done
nvidia-smi --query-gpu=$q,no_such_field.active --format=csv,noheader,nounits > "$out/bad-field.out" 2>&1; echo $? > "$out/bad-field.rc"
if command -v node >/dev/null 2>&1 && [ -f dist/agent/gpu/nvidia-smi.js ]; then
  node --version > "$out/node.txt"
  node --input-type=module -e "
    const m = await import('./dist/agent/gpu/nvidia-smi.js');
    const gpus = await m.readGpus({});
    console.log(JSON.stringify({ gpus, problems: gpus.flatMap((g) => m.gpuProblems(g, { temperatureWarn: 85, memoryWarnPercent: 98 })) }, null, 1));
  " > "$out/reader.json" 2> "$out/reader.err"; echo $? > "$out/reader.rc"
else
  echo "no node or no dist" > "$out/node.txt"
fi
ls -la "$out"
