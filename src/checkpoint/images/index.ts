// CRIU image format: framing, messages, image directories, crit-style JSON.
export * from "./codec.js";
export * from "./crit-json.js";
export * from "./dir.js";
export * from "./errors.js";
export * from "./framing.js";
export * from "./image-set.js";
export * from "./magic.js";
