// prctl(PR_SET_MM*, PR_SET_VMA, PR_*_THP_DISABLE, PR_GET_AUXV) against the live kernel: every
// case of native/probe-prctl runs on this machine's 6.18 kernel (as root without
// CAP_SYS_RESOURCE, as nobody, and as root of a child user namespace), and the same call runs
// on the model; results must be equal. Cases this machine cannot run are marked "from source".
import { describe, expect, it } from "vitest";
import type { FileFacts } from "../src/kernel/fs/vfs.js";
import { Kernel } from "../src/kernel/kernel.js";
import { type Creds, FULL_ROOT, NOBODY, REFERENCE_ROOT } from "../src/kernel/mm/creds.js";
import { encodeMmMap, type PrctlMmMap } from "../src/kernel/task/prctl.js";
import { runProbe } from "./tasks-probe.js";

const live = runProbe();
const expected = (name: string): number => {
  const v = live.results.get(name);
  if (v === undefined) throw new Error(`the probe did not report case ${name}`);
  return v;
};

const PAGE = 4096;
const SCRATCH = 0x300000000; // the struct lives here
const AUXV_BUF = SCRATCH + 0x1000;
const OUT = SCRATCH + 0x2000;
const EXE_AT = 0x400000000;
const TASK_SIZE = 0x7ffffffff000n;
const PR_SET_MM = 35;
const PR_SET_MM_MAP = 14;

const FILES: Record<string, FileFacts> = {
  "/exe": { dev: "fe:00", ino: 11, size: 8192, mode: 0o100755 },
  "/": { dev: "fe:00", ino: 2, size: 4096, mode: 0o040755, regular: false },
  "/tmp/noexec": { dev: "fe:00", ino: 12, size: 0, mode: 0o100644 },
  "/bin/sh": { dev: "fe:00", ino: 13, size: 8192, mode: 0o100755 },
};

const base = (): PrctlMmMap => ({
  startCode: 0x400000n,
  endCode: 0x401000n,
  startData: 0x600000n,
  endData: 0x601000n,
  startBrk: 0x800000n,
  brk: 0x800000n,
  startStack: 0x7ffffffde000n,
  argStart: 0x7ffffffde100n,
  argEnd: 0x7ffffffde200n,
  envStart: 0x7ffffffde200n,
  envEnd: 0x7ffffffde300n,
  auxv: 0n,
  auxvSize: 0,
  exeFd: 0xffffffff,
});

const num = (r: ReturnType<Kernel["syscall"]>) => ("errno" in r ? -r.errno : Number(r.ret));

/**
 * A process like the probe's child: its executable mapped and recorded as mm->exe_file (as
 * execve does; done here with PR_SET_MM_EXE_FILE by a fully privileged task), a scratch area,
 * fds for a directory, a 0644 file, another executable and the exe; then the case's creds.
 */
function setup(creds: Creds = REFERENCE_ROOT, userns = false) {
  const k = new Kernel({ resolver: (p) => FILES[p] ?? null, creds: FULL_ROOT });
  const pid = k.spawnEmpty().pid;
  expect(num(k.syscall(pid, "mmap", [SCRATCH, 3 * PAGE, 3, 0x32, -1, 0]))).toBe(SCRATCH);
  const fd = (path: string) => Number((k.open(pid, path, 0) as { ret: bigint }).ret);
  const exe = fd("/exe");
  expect(num(k.syscall(pid, "prctl", [PR_SET_MM, 13, exe, 0, 0]))).toBe(0);
  expect(num(k.syscall(pid, "mmap", [EXE_AT, 2 * PAGE, 5, 0x12, exe, 0]))).toBe(EXE_AT);
  const fds = { dir: fd("/"), plain: fd("/tmp/noexec"), other: fd("/bin/sh"), exe };
  const auxv = new Uint8Array(512);
  const dv = new DataView(auxv.buffer);
  for (let i = 0; i < 64; i++) dv.setBigUint64(i * 8, BigInt(i + 1), true);
  expect(k.writeMemory(pid, AUXV_BUF, auxv)).toBe(true);
  k.setCreds(pid, creds);
  if (userns) k.unshareUserNs(pid, 0);
  const prctl = (...args: Array<number | bigint>) => num(k.syscall(pid, "prctl", args));
  const setMap = (m: PrctlMmMap) => {
    expect(k.writeMemory(pid, SCRATCH, encodeMmMap(m))).toBe(true);
    return prctl(PR_SET_MM, PR_SET_MM_MAP, SCRATCH, 104, 0);
  };
  return { k, pid, fds, prctl, setMap };
}

const FIELDS = [
  "startCode",
  "endCode",
  "startData",
  "endData",
  "startBrk",
  "brk",
  "startStack",
  "argStart",
  "argEnd",
  "envStart",
  "envEnd",
] as const;
const SNAKE = [
  "start_code",
  "end_code",
  "start_data",
  "end_data",
  "start_brk",
  "brk",
  "start_stack",
  "arg_start",
  "arg_end",
  "env_start",
  "env_end",
];

describe("prctl_set_mm common entry and PR_SET_MM_MAP_SIZE (live)", () => {
  it("PR_SET_MM_MAP_SIZE writes 104 and returns 0", () => {
    const { k, pid, prctl } = setup();
    expect(prctl(PR_SET_MM, 15, OUT, 0, 0)).toBe(expected("map_size"));
    const v = k.readMemory(pid, OUT, 4);
    expect(v && new DataView(v.buffer).getUint32(0, true)).toBe(Number(live.values.get("map_size")?.[0]));
  });
  it("PR_SET_MM_MAP_SIZE to a bad pointer: EFAULT", () => expect(setup().prctl(PR_SET_MM, 15, 8, 0, 0)).toBe(expected("map_size_efault")));
  it("arg5 ≠ 0: EINVAL", () => expect(setup().prctl(PR_SET_MM, 14, SCRATCH, 104, 1)).toBe(expected("arg5")));
  it("arg4 ≠ 0 with a single-field op: EINVAL (before the capability check)", () =>
    expect(setup().prctl(PR_SET_MM, 1, 0x400000, 1, 0)).toBe(expected("arg4_single")));
  it("arg5 ≠ 0 with MAP_SIZE: EINVAL", () => expect(setup().prctl(PR_SET_MM, 15, 0, 0, 1)).toBe(expected("set_mm_bad_arg5")));
  it("size ≠ 104: EINVAL", () => expect(setup().prctl(PR_SET_MM, 14, SCRATCH, 103, 0)).toBe(expected("map_bad_size")));
  it("struct at a bad pointer: EFAULT", () => expect(setup().prctl(PR_SET_MM, 14, 8, 104, 0)).toBe(expected("map_efault")));
});

describe("PR_SET_MM_MAP validation (validate_prctl_map_addr), live", () => {
  it("a valid map is committed: /proc/PID/stat fields 26-28 and 45-51", () => {
    const { k, pid, setMap } = setup();
    expect(setMap(base())).toBe(expected("map_ok"));
    const f = k.stat(pid).trim().split(" ");
    const got = [26, 27, 28, 45, 46, 47, 48, 49, 50, 51].map((n) => BigInt(f[n - 1]));
    expect(got).toEqual(live.stats.get("map_ok"));
  });

  for (let i = 0; i < FIELDS.length; i++) {
    for (const [label, value] of [
      ["below_min", 0xffffn],
      ["task_size", TASK_SIZE],
      ["zero", 0n],
    ] as const) {
      const name = `${label}_${SNAKE[i]}`;
      it(`${name}: ${SNAKE[i]} = 0x${value.toString(16)}`, () => {
        const m = base();
        m[FIELDS[i]] = value;
        expect(setup().setMap(m)).toBe(expected(name));
      });
    }
  }

  const ORDER: Array<[string, (m: PrctlMmMap) => void]> = [
    ["min_start_code_ok", (m) => (m.startCode = 0x10000n)],
    ["max_env_end_ok", (m) => (m.envEnd = TASK_SIZE - 1n)],
    ["code_equal", (m) => (m.endCode = m.startCode)],
    ["code_reversed", (m) => (m.startCode = 0x402000n)],
    ["data_equal_ok", (m) => (m.endData = m.startData)],
    ["data_reversed", (m) => (m.endData = m.startData - 0x1000n)],
    ["brk_below_start_brk", (m) => (m.brk = m.startBrk - 0x1000n)],
    ["brk_above_start_brk_ok", (m) => (m.brk = m.startBrk + 0x5000n)],
    ["arg_reversed", (m) => (m.argEnd = m.argStart - 1n)],
    ["env_reversed", (m) => (m.envEnd = m.envStart - 1n)],
    ["stack_below_code_ok", (m) => (m.startStack = 0x10000n)],
    [
      "code_overlaps_data_ok",
      (m) => {
        m.startData = 0x400000n;
        m.endData = 0x401000n;
      },
    ],
    [
      "unaligned_ok",
      (m) => {
        m.startCode = 0x400123n;
        m.brk = 0x800777n;
      },
    ],
    [
      "bad_field_and_bad_auxv",
      (m) => {
        m.startCode = 0n;
        m.auxvSize = 8;
      },
    ],
    [
      "bad_order_and_bad_exe_fd",
      (m) => {
        m.endCode = 0n;
        m.exeFd = 9999;
      },
    ],
  ];
  for (const [name, edit] of ORDER) {
    it(name, () => {
      const m = base();
      edit(m);
      expect(setup().setMap(m)).toBe(expected(name));
    });
  }

  it("RLIMIT_DATA bounds (brk − start_brk) + (end_data − start_data)", () => {
    const { k, pid, setMap } = setup();
    const rl = new Uint8Array(16);
    new DataView(rl.buffer).setBigUint64(0, 0x11000n, true);
    new DataView(rl.buffer).setBigUint64(8, (1n << 64n) - 1n, true);
    expect(k.writeMemory(pid, OUT, rl)).toBe(true);
    expect(num(k.syscall(pid, "setrlimit", [2, OUT]))).toBe(0);
    const m = base();
    m.brk = m.startBrk + 0x10000n;
    expect(setMap(m)).toBe(expected("data_rlimit_at_limit_ok"));
    m.brk = m.startBrk + 0x11000n;
    expect(setMap(m)).toBe(expected("data_rlimit_over"));
    m.brk = m.startBrk + 0x10000n;
    m.endData = m.startData + 0x1001n;
    expect(setMap(m)).toBe(expected("data_rlimit_over_by_data"));
  });
});

describe("PR_SET_MM_MAP auxv (live; saved_auxv is 448 bytes on 6.18)", () => {
  it("every auxv case in the probe's order, then PR_GET_AUXV reads the last one back", () => {
    const { k, pid, setMap, prctl } = setup();
    const m = base();
    m.auxvSize = 16;
    expect(setMap(m)).toBe(expected("auxv_null"));
    m.auxv = BigInt(AUXV_BUF);
    m.auxvSize = 417;
    expect(setMap(m)).toBe(expected("auxv_417_ok"));
    m.auxvSize = 8;
    m.auxv = 8n;
    expect(setMap(m)).toBe(expected("auxv_efault"));
    m.auxv = BigInt(AUXV_BUF);
    m.auxvSize = 448;
    expect(setMap(m)).toBe(expected("auxv_max_ok"));
    m.auxvSize = 449;
    expect(setMap(m)).toBe(expected("auxv_over_max"));
    m.auxvSize = 416;
    expect(setMap(m)).toBe(expected("auxv_416_ok"));
    m.auxvSize = 0;
    m.auxv = 8n;
    expect(setMap(m)).toBe(expected("auxv_size0_bad_ptr_ok"));
    expect(prctl(0x41555856, OUT, 512, 0, 0)).toBe(expected("get_auxv"));
    const got = k.readMemory(pid, OUT, 448) as Uint8Array;
    const dv = new DataView(got.buffer);
    const words = [0, 49, 50, 51].map((i) => String(dv.getBigUint64(i * 8, true)));
    expect(words).toEqual(live.values.get("get_auxv"));
  });
  it("PR_GET_AUXV: arg4 → EINVAL, len 0 → 448, bad pointer → EFAULT", () => {
    const { prctl } = setup();
    expect(prctl(0x41555856, 0, 0, 1, 0)).toBe(expected("get_auxv_arg4"));
    expect(prctl(0x41555856, 0, 0, 0, 0)).toBe(expected("get_auxv_len0"));
    expect(prctl(0x41555856, 8, 16, 0, 0)).toBe(expected("get_auxv_efault"));
  });
});

describe("exe_fd and single-field ops, per credential (live)", () => {
  const who: Array<[string, Creds, boolean]> = [
    ["root", REFERENCE_ROOT, false],
    ["nobody", NOBODY, false],
    ["userns", REFERENCE_ROOT, true],
  ];
  for (const [label, creds, userns] of who) {
    it(`${label}: exe_fd bad/dir/0644/other exe/own exe/none, then PR_SET_MM_START_CODE, EXE_FILE, unknown op, AUXV`, () => {
      const { fds, setMap, prctl } = setup(creds, userns);
      const withFd = (fd: number) => setMap({ ...base(), exeFd: fd });
      expect(withFd(9999)).toBe(expected(`${label}_exe_fd_bad`));
      expect(withFd(fds.dir)).toBe(expected(`${label}_exe_fd_dir`));
      expect(withFd(fds.plain)).toBe(expected(`${label}_exe_fd_noexec_mode`));
      expect(withFd(fds.other)).toBe(expected(`${label}_exe_fd_other_busy`));
      expect(withFd(fds.exe)).toBe(expected(`${label}_exe_fd_busy`));
      expect(withFd(0xffffffff)).toBe(expected(`${label}_no_exe_fd_ok`));
      expect(prctl(PR_SET_MM, 1, 0x400000, 0, 0)).toBe(expected(`${label}_single_start_code`));
      expect(prctl(PR_SET_MM, 13, fds.exe, 0, 0)).toBe(expected(`${label}_single_exe_file`));
      expect(prctl(PR_SET_MM, 99, 0x400000, 0, 0)).toBe(expected(`${label}_single_unknown_op`));
      expect(prctl(PR_SET_MM, 12, 8, 16, 0)).toBe(expected(`${label}_single_auxv`));
    });
  }
});

describe("PR_SET_VMA, PR_SET/GET_THP_DISABLE (live)", () => {
  it("PR_SET_VMA is EINVAL (CONFIG_ANON_VMA_NAME off)", () => {
    const { prctl } = setup();
    expect(prctl(0x53564d41, 0, 0x200000000, PAGE, SCRATCH)).toBe(expected("set_vma_anon_name"));
    expect(prctl(0x53564d41, 7, 0x200000000, PAGE, 0)).toBe(expected("set_vma_bad_op"));
  });
  it("THP disable: the probe's sequence, inherited by a fork child", () => {
    const { k, pid, prctl } = setup();
    expect(prctl(42, 0, 0, 0, 0)).toBe(expected("get_thp_disable_initial"));
    expect(prctl(42, 1, 0, 0, 0)).toBe(expected("get_thp_disable_arg"));
    expect(prctl(41, 1, 0, 1, 0)).toBe(expected("set_thp_disable_arg4"));
    expect(prctl(41, 1, 0, 0, 0)).toBe(expected("set_thp_disable"));
    expect(prctl(42, 0, 0, 0, 0)).toBe(expected("get_thp_disable_after"));
    const child = k.fork(pid);
    expect(num(k.syscall(child, "prctl", [42, 0, 0, 0, 0]))).toBe(expected("get_thp_disable_in_fork_child"));
    expect(prctl(41, 0, 0, 0, 0)).toBe(expected("clear_thp_disable"));
    expect(prctl(42, 0, 0, 0, 0)).toBe(expected("get_thp_disable_cleared"));
    expect(prctl(41, 1, 2, 0, 0)).toBe(expected("set_thp_disable_except_advised"));
    expect(prctl(42, 0, 0, 0, 0)).toBe(expected("get_thp_disable_except_advised"));
    expect(prctl(41, 1, 4, 0, 0)).toBe(expected("set_thp_disable_bad_arg3"));
    expect(prctl(41, 0, 2, 0, 0)).toBe(expected("clear_thp_disable_with_arg3"));
    expect(prctl(42, 0, 0, 0, 0)).toBe(expected("get_thp_disable_final"));
  });
});

describe("what this machine cannot run (from source: kernel/sys.c prctl_set_mm with CAP_SYS_RESOURCE)", () => {
  it("from source: with CAP_SYS_RESOURCE a single-field op validates the new map, then START_STACK/ARG/ENV need a VMA at or above", () => {
    const { k, pid, prctl } = setup(FULL_ROOT);
    expect(prctl(PR_SET_MM, 99, 0x400000, 0, 0)).toBe(-22); // unknown op after the address check
    expect(prctl(PR_SET_MM, 1, 0xffff, 0, 0)).toBe(-22); // below mmap_min_addr
    // A fresh mm's fields are 0 (below mmap_min_addr): any one-field change leaves the map invalid.
    expect(prctl(PR_SET_MM, 7, 0x900000, 0, 0)).toBe(-22);
    expect(prctl(PR_SET_MM, 5, 0x7fff00000000, 0, 0)).toBe(-22);
    const m = base();
    expect(k.writeMemory(pid, SCRATCH, encodeMmMap(m))).toBe(true);
    expect(prctl(PR_SET_MM, 14, SCRATCH, 104, 0)).toBe(0);
    expect(prctl(PR_SET_MM, 6, 0x900000, 0, 0)).toBe(-22); // start_brk above brk
    expect(prctl(PR_SET_MM, 5, 0x7fff00000000, 0, 0)).toBe(-14); // no VMA at or above
    expect(prctl(PR_SET_MM, 5, SCRATCH + 0x10, 0, 0)).toBe(0); // the scratch VMA is above
    expect(prctl(PR_SET_MM, 1, 0x3ff000, 0, 0)).toBe(0); // start_code needs no VMA
    expect(prctl(PR_SET_MM, 12, AUXV_BUF, 449, 0)).toBe(-22);
    expect(prctl(PR_SET_MM, 12, 8, 16, 0)).toBe(-14);
    expect(prctl(PR_SET_MM, 12, AUXV_BUF, 16, 0)).toBe(0);
    const f = k.stat(pid).split(" ");
    expect(f[27]).toBe(String(SCRATCH + 0x10)); // field 28 start_stack
    expect(f[25]).toBe(String(0x3ff000)); // field 26 start_code
  });
  it("from source: noexec mount → EACCES before the EBUSY check", () => {
    const k = new Kernel({ resolver: (p) => (p === "/mnt/x" ? { dev: "00:2a", ino: 5, size: 10, mode: 0o100755, noexec: true } : null) });
    const pid = k.spawnEmpty().pid;
    k.syscall(pid, "mmap", [SCRATCH, PAGE, 3, 0x32, -1, 0]);
    const fd = Number((k.open(pid, "/mnt/x", 0) as { ret: bigint }).ret);
    k.writeMemory(pid, SCRATCH, encodeMmMap({ ...base(), exeFd: fd }));
    expect(num(k.syscall(pid, "prctl", [PR_SET_MM, 14, SCRATCH, 104, 0]))).toBe(-13);
  });
});

describe("bad structures and unmodeled options get clear answers", () => {
  it("a struct straddling the end of a mapping is EFAULT, not a crash", () => {
    const { prctl } = setup();
    expect(prctl(PR_SET_MM, 14, SCRATCH + 3 * PAGE - 50, 104, 0)).toBe(-14);
  });
  it("an unmodeled prctl option throws Unsupported naming it", () => {
    const { prctl } = setup();
    expect(() => prctl(15, 0, 0, 0, 0)).toThrow(/prctl option 15 \(0xf\) is not modeled/);
  });
  it("the modeled opt-out is an unknown option (EINVAL) under none, as on the live kernel", () => {
    expect(setup().prctl(0x6d6f6430, 1, 0, 0, 0)).toBe(expected("modeled_optout_is_unknown"));
  });
  it("under sysmap+prctl-optout it sets the task's request, inherited by fork", () => {
    const k = new Kernel({ policy: "sysmap+prctl-optout" });
    const pid = k.spawnEmpty().pid;
    expect(num(k.syscall(pid, "prctl", [0x6d6f6430, 1, 0, 0, 0]))).toBe(0);
    expect(k.process(pid).optOutRequested).toBe(true);
    expect(k.process(k.fork(pid)).optOutRequested).toBe(true);
    expect(num(k.syscall(pid, "prctl", [0x6d6f6430, 2, 0, 0, 0]))).toBe(-22);
  });
});
