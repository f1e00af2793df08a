import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedactor, isSecretName, redactEvidence, redactingUnitControl, REDACTED } from '../../../agent/restart/redact-evidence.js';
import type { UnitControl } from '../../../agent/unit-control.js';

const redact = createRedactor();
const OPENAI = 'sk-proj-4fQ9xT2mZ7Lk1PqR8sVw3YbN6cHd0JeU';
const HF = 'hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345';

test('a vLLM start-up line keeps its flags and loses the --api-key value', () => {
  const line = `Mar 01 12:00:00 gpu-b vllm[4242]: INFO 03-01 12:00:00 api_server.py:712] vLLM API server version 0.6.3 args: --model Qwen/Qwen2.5-VL-7B --port 8002 --api-key ${OPENAI} --max-model-len 8192`;
  const out = redact(line);
  assert.ok(!out.includes(OPENAI), out);
  assert.ok(out.includes(`--api-key ${REDACTED} --max-model-len 8192`), out);
  assert.ok(out.startsWith('Mar 01 12:00:00 gpu-b vllm[4242]: INFO'), out);
  assert.equal(redact(`llama-server --api-key=mysecretkey123 --port 8001`), `llama-server --api-key=${REDACTED} --port 8001`);
  assert.equal(redact(`--hf-token "${HF}" --token abcdef`), `--hf-token "${REDACTED}" --token ${REDACTED}`);
});

test('vLLM printing its arguments as a Namespace or a dict', () => {
  const ns = redact(`Namespace(host=None, port=8002, api_key='not-an-sk-key-but-secret', served_model_name=None)`);
  assert.equal(ns, `Namespace(host=None, port=8002, api_key='${REDACTED}', served_model_name=None)`);
  const dict = redact(`non-default args: {'model': 'Qwen/Qwen2.5-VL-7B', 'api_key': 'plainsecret42', 'port': 8002}`);
  assert.equal(dict, `non-default args: {'model': 'Qwen/Qwen2.5-VL-7B', 'api_key': '${REDACTED}', 'port': 8002}`);
  assert.equal(redact(`{"hf_token": "abc123xyz"}`), `{"hf_token": "${REDACTED}"}`);
});

test('an environment dump: *_TOKEN, *_KEY, *_SECRET, PASSWORD assignments', () => {
  const dump = [
    `Environment=HF_TOKEN=${HF} CUDA_VISIBLE_DEVICES=0`,
    'OPENAI_API_KEY=abc.def-ghi',
    'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    'DB_PASSWORD="correct horse"',
    'PASSWORD=hunter2',
    'CLIENT_SECRET=s3cr3t',
    'MAX_TOKENS=512',
  ].join('\n');
  const out = redact(dump);
  assert.equal(
    out,
    [
      `Environment=HF_TOKEN=${REDACTED} CUDA_VISIBLE_DEVICES=0`,
      `OPENAI_API_KEY=${REDACTED}`,
      `AWS_SECRET_ACCESS_KEY=${REDACTED}`,
      `DB_PASSWORD="${REDACTED}"`,
      `PASSWORD=${REDACTED}`,
      `CLIENT_SECRET=${REDACTED}`,
      'MAX_TOKENS=512',
    ].join('\n'),
  );
});

test('a URL with a password keeps its user and host', () => {
  assert.equal(redact('connecting to postgres://llm:pa55w0rd@db.internal:5432/metrics'), `connecting to postgres://llm:${REDACTED}@db.internal:5432/metrics`);
  assert.equal(redact('proxy https://user:p%40ss@proxy:3128 failed'), `proxy https://user:${REDACTED}@proxy:3128 failed`);
  assert.equal(redact('listening on http://0.0.0.0:8001/v1'), 'listening on http://0.0.0.0:8001/v1');
});

test('Authorization headers and Bearer tokens keep their scheme', () => {
  assert.equal(redact('request headers: Authorization: Bearer eyAbc.def-1234567890'), `request headers: Authorization: Bearer ${REDACTED}`);
  assert.equal(redact(`{'authorization': 'Basic dXNlcjpwYXNz'}`), `{'authorization': 'Basic ${REDACTED}'}`);
  assert.equal(redact('curl -H "x-api-key: k-12345678"'), `curl -H "x-api-key: ${REDACTED}"`);
  assert.equal(redact('sent bearer abcdefgh12345678 upstream'), `sent bearer ${REDACTED} upstream`);
  // prose about authorization is not a header value
  assert.equal(redact('401: missing Bearer realm'), '401: missing Bearer realm');
});

test('well-known token shapes anywhere in a line', () => {
  assert.equal(redact(`key ${OPENAI} rejected`), `key ${REDACTED} rejected`);
  assert.equal(redact(`downloading with ${HF}`), `downloading with ${REDACTED}`);
  assert.equal(redact('gh token ghp_0123456789abcdefghijABCDEFGHIJ012345 ok'), `gh token ${REDACTED} ok`);
  assert.equal(redact('aws AKIAIOSFODNN7EXAMPLE used'), `aws ${REDACTED} used`);
});

test('ordinary journal lines pass through unchanged', () => {
  const lines = [
    'llama_model_loader: loaded meta data with 33 key-value pairs and 292 tensors',
    'srv  update_slots: all slots are idle',
    'tokenizer: eos_token=</s> pad_token=<pad>',
    'llm-health-test.service: Main process exited, code=killed, status=9/KILL',
    'error: connection refused (os error 111)',
    'INFO:     127.0.0.1:53422 - "GET /health HTTP/1.1" 200 OK',
  ];
  for (const line of lines) assert.equal(redact(line), line);
  assert.equal(redact(`token=${REDACTED}`), `token=${REDACTED}`, 'redacting twice changes nothing');
});

test('secret names: suffixes and camelCase, not tokenizer settings or counts', () => {
  for (const name of ['HF_TOKEN', 'apiKey', 'api_key', 'OPENAI_API_KEY', 'DB_PASSWORD', 'client_secret', 'accessToken', 'token', 'passwd']) assert.ok(isSecretName(name), name);
  for (const name of ['MAX_TOKENS', 'eos_token', 'pad_token_id', 'tokenizer', 'monkey', 'BYPASS', 'model']) assert.ok(!isSecretName(name), name);
});

test('operator patterns: each match replaced whole; zero-width matches leave no mark', () => {
  const own = createRedactor(['acme-[0-9a-f]{8}', '(?<=SESSION )[A-Z0-9]{6,}', '(?=x)']);
  assert.equal(own('acme-deadbeef and SESSION ABC123XY'), `${REDACTED} and SESSION ${REDACTED}`);
  assert.equal(own('xylophone'), 'xylophone');
});

test('long hostile lines take time in proportion to their length', () => {
  const nasty = ['a.'.repeat(50_000), 'A'.repeat(100_000), `${'x='.repeat(30_000)}`, `--${'a'.repeat(60_000)}`, `http://${'a'.repeat(60_000)}`].join('\n');
  const started = process.hrtime.bigint();
  redact(nasty);
  assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 2_000, 'redacting 400 kB of adversarial text stays fast');
});

test('every string in an evidence object is redacted; keys, numbers and nulls stay', () => {
  const evidence = { unit: 'vllm.service', properties: { result: 'exit-code', mainPid: 0, note: `PASSWORD=x1y2` }, journal: `--api-key ${OPENAI}`, lines: [`HF_TOKEN=${HF}`], startLimitHit: false, missing: null };
  assert.deepEqual(redactEvidence(evidence, redact), {
    unit: 'vllm.service',
    properties: { result: 'exit-code', mainPid: 0, note: `PASSWORD=${REDACTED}` },
    journal: `--api-key ${REDACTED}`,
    lines: [`HF_TOKEN=${REDACTED}`],
    startLimitHit: false,
    missing: null,
  });
});

test('the redacting unit control cleans evidence and systemctl output, and passes show through', async () => {
  const props = { activeState: 'failed', subState: 'failed', nRestarts: 0, mainPid: 0, execMainStatus: 1, result: 'exit-code', startLimitHit: false };
  const inner: UnitControl = {
    resetFailed: async (name: string) => ({ ok: true, exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, argv: ['systemctl', 'reset-failed', name] }),
    show: async () => props,
    captureEvidence: async (unit) => ({ unit, journal: `started with --api-key ${OPENAI}`, properties: props }),
    restart: async (unit) => ({ ok: false, exitCode: 1, stdout: '', stderr: `Job failed: HF_TOKEN=${HF}`, durationMs: 3, timedOut: false, argv: ['systemctl', 'restart', unit] }),
  };
  const units = redactingUnitControl(inner, redact);
  assert.equal(await units.show('vllm.service'), props);
  assert.deepEqual(await units.captureEvidence('vllm.service'), { unit: 'vllm.service', journal: `started with --api-key ${REDACTED}`, properties: props });
  const out = await units.restart('vllm.service');
  assert.equal(out.stderr, `Job failed: HF_TOKEN=${REDACTED}`);
  assert.deepEqual(out.argv, ['systemctl', 'restart', 'vllm.service']);
});

test('a failing capture or restart throws its error with the message redacted', async () => {
  const failing = (what: string) => async (): Promise<never> => {
    throw new Error(`${what} failed: journalctl printed --api-key ${OPENAI}`);
  };
  const inner: UnitControl = { resetFailed: failing('reset-failed'), show: failing('show'), captureEvidence: failing('capture'), restart: failing('restart') };
  const units = redactingUnitControl(inner, redact);
  for (const call of [() => units.captureEvidence('vllm.service'), () => units.restart('vllm.service'), () => units.resetFailed('vllm.service'), () => units.show('vllm.service')]) {
    await assert.rejects(call(), (err: Error) => {
      assert.ok(!err.message.includes(OPENAI), err.message);
      assert.match(err.message, /failed: journalctl printed --api-key \[REDACTED\]/);
      return true;
    });
  }
});
