// `pnpm agent:eval [-- --fake] [conversations.yaml]`: runs the agent's scripted evaluation
// (packages/agent/dist/eval/eval.cli.js) against the configured model (OPENAI_* / LLM_MODEL /
// AGENT_CONFIG), or with `--fake` against the fake OpenAI server of the built testkit, started here
// on loopback and handed to the CLI as OPENAI_BASE_URL (the agent package itself loads no fake).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'packages/agent/dist/eval/eval.cli.js');
const args = process.argv.slice(2).filter((a) => a !== '--');
const useFake = args.includes('--fake');
const rest = args.filter((a) => a !== '--fake');

/** The fake model: hands a complaint over once (no tool result yet), echoes everything else. */
function fakeReply(req) {
  const last = [...req.messages].reverse().find((m) => m.role === 'user');
  const text = typeof last?.content === 'string' ? last.content : '';
  if (/broken|angry|complain|call me/i.test(text) && req.tools?.some((t) => t.function.name === 'handoff_to_human') && !req.messages.some((m) => m.role === 'tool')) {
    return { tool_calls: [{ name: 'handoff_to_human', arguments: { reason: 'needs a person', summary: text.slice(0, 200) } }] };
  }
  return `(fake model) You said: ${text}`;
}

let fake;
const env = { ...process.env };
if (useFake) {
  const { startFakeOpenAI } = await import('@switchboard/testkit');
  fake = await startFakeOpenAI({ reply: fakeReply });
  Object.assign(env, { OPENAI_API_KEY: 'sk-fake', OPENAI_BASE_URL: fake.url });
  process.stdout.write(`agent eval: fake OpenAI server at ${fake.url}\n`);
}
const child = spawn(process.execPath, [cli, ...rest], { cwd: root, env, stdio: 'inherit' });
const code = await new Promise((done) => child.on('exit', (c, signal) => done(c ?? (signal ? 1 : 0))));
await fake?.close();
process.exit(code);
