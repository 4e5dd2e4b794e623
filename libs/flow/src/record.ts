/** One unit of data moving between steps: a plain JSON-like object. */
export type FlowRecord = Record<string, unknown>;

/** Records travel between steps in pages, so memory stays bounded whatever the source size. */
export type Page = FlowRecord[];
