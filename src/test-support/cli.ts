import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs the real `mops` CLI (this run's bundle of the source, see `cli-bundle.ts`) and collects its output. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  options: { input?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export function spawnCli(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--enable-source-maps', cliCommand(), ...args], {
    cwd: PROJECT_ROOT,
    env: cliEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/**
 * Runs the real `mops` CLI in a terminal (a pseudo-terminal from util-linux `script`, so Linux
 * only): what a person sees, progress bars and terminal modes included, stdout and stderr as one.
 */
export function runCliInTerminal(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const quoted = [process.execPath, '--enable-source-maps', cliCommand(), ...args].map(
    (arg) => `'${arg.replaceAll("'", "'\\''")}'`,
  );
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['--quiet', '--return', '--command', quoted.join(' '), '/dev/null'], {
      cwd: PROJECT_ROOT,
      env: { ...cliEnv(env), TERM: 'xterm' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

function cliCommand(): string {
  return path.join(inject('mopsCommandDir'), 'main.js');
}

function cliEnv(env: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    // The console as the build leaves it, where the source would look for it (the bundle is elsewhere).
    MOPS_WEB_DIR: path.join(PROJECT_ROOT, 'dist/web'),
    ...env,
  };
}

/** Starts `mops start` in a child process and resolves with its URL once it listens. */
export async function startServerProcess(
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ child: ChildProcess; url: string | undefined; output: () => string }> {
  const child = spawnCli(['start', ...args], env);
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const url = await new Promise<string | undefined>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running past its test: nothing else holds it to end it.
      child.kill('SIGKILL');
      reject(new Error(`server did not start:\n${output}`));
    }, 30_000);
    const onData = () => {
      const listening = /listening on (http:\/\/\S+)/.exec(output);
      const worker = output.includes('worker running');
      if (listening || worker) {
        clearTimeout(timer);
        resolve(listening?.[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  child.removeAllListeners('exit');
  return { child, url, output: () => output };
}

export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
