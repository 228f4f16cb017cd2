import { cpus, totalmem, platform, release } from 'node:os';
import { readFileSync } from 'node:fs';

/** What the figures were measured on: they only mean something next to the machine that produced them. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  date: string;
}

/** Cores the process may use (a container's CPU quota is fewer than os.cpus() shows). */
function usableCores(): number {
  const listed = cpus().length;
  try {
    const [quota, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    if (quota && quota !== 'max' && period) return Math.min(listed, Math.max(1, Math.ceil(Number(quota) / Number(period))));
  } catch {
    // no cgroup v2 quota: every listed core is usable
  }
  return listed;
}

export function machineInfo(): MachineInfo {
  const cpu = cpus()[0];
  return {
    cpuModel: cpu?.model.trim() || 'unknown',
    cores: usableCores(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()}`,
    node: process.version,
    date: new Date().toISOString(),
  };
}
