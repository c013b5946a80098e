// The model's way of saying "I cannot answer this faithfully": thrown (not returned as a
// result) so that no engine can mistake it for a kernel answer. Engines catch it and
// report the call as `unsupported` with the reason, never as a guess.

export class Unsupported extends Error {
  constructor(readonly reason: string) {
    super(`unsupported: ${reason}`);
    this.name = "Unsupported";
  }
}
