// execve closes FD_CLOEXEC descriptors and keeps the others (fs/file.c do_close_on_exec;
// execve(2): "By default, file descriptors remain open across an execve()"; O_CLOEXEC ones are
// closed). Checked on the live kernel below with /proc/self/fd of an exec'd `ls`.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { Kernel } from "../src/kernel/kernel.js";
import { hostResolver } from "../src/oracle/host-files.js";

const O_CLOEXEC = 0o2000000;

describe("execve and FD_CLOEXEC", () => {
  it("the live kernel: an O_CLOEXEC descriptor is gone after exec, a plain one stays", () => {
    // python opens one descriptor inheritable and one O_CLOEXEC, then execs readlink on both.
    const r = spawnSync(
      "python3",
      [
        "-c",
        "import os; a=os.open('/etc/hostname', os.O_RDONLY); b=os.open('/etc/hostname', os.O_RDONLY|os.O_CLOEXEC); os.set_inheritable(a, True); os.execv('/bin/readlink', ['readlink', '/proc/self/fd/%d' % a, '/proc/self/fd/%d' % b])",
      ],
      { encoding: "utf8" },
    );
    expect(r.stdout.trim().split("\n")).toEqual(["/etc/hostname"]);
    expect(r.status).toBe(1);
  });

  it("the model: execve closes the O_CLOEXEC descriptor and keeps the plain one", () => {
    const k = new Kernel({ resolver: hostResolver() });
    const p = k.spawnExec("/bin/true", ["true"], []);
    if (!("pid" in p)) throw new Error(`spawnExec failed: ${JSON.stringify(p)}`);
    const plain = k.open(p.pid, "/etc/hostname", 0);
    const cloexec = k.open(p.pid, "/etc/hostname", O_CLOEXEC);
    expect(plain).toEqual({ ret: 0n });
    expect(cloexec).toEqual({ ret: 1n });
    expect(k.execve(p.pid, "/bin/true", ["true"], [])).toEqual({ ret: 0n });
    expect(k.process(p.pid).files.get(0)).not.toBeNull();
    expect(k.process(p.pid).files.get(1)).toBeNull();
  });
});
