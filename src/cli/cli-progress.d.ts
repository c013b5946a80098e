// The part of cli-progress 3 that aspace uses (the package ships no types).
declare module "cli-progress" {
  interface Options {
    stream?: NodeJS.WritableStream;
    format?: string;
    barsize?: number;
    hideCursor?: boolean;
    clearOnComplete?: boolean;
    stopOnComplete?: boolean;
    fps?: number;
    etaBuffer?: number;
  }
  interface Preset {
    barCompleteChar: string;
    barIncompleteChar: string;
    format?: string;
  }
  class SingleBar {
    constructor(opt: Options, preset?: Preset);
    start(total: number, start: number, payload?: Record<string, unknown>): void;
    update(current: number, payload?: Record<string, unknown>): void;
    setTotal(total: number): void;
    stop(): void;
  }
  const Presets: { legacy: Preset; shades_classic: Preset; shades_grey: Preset; rect: Preset };
  const cliProgress: { SingleBar: typeof SingleBar; Bar: typeof SingleBar; Presets: typeof Presets };
  export default cliProgress;
  export { Presets, SingleBar };
}
