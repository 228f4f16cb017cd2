/** Singer protocol messages as the target reads them. */

export type JsonObject = Record<string, unknown>;

export interface SchemaMessage {
  type: 'SCHEMA';
  stream: string;
  schema: JsonObject;
  key_properties: string[];
  bookmark_properties?: string[];
}

export interface RecordMessage {
  type: 'RECORD';
  stream: string;
  record: JsonObject;
  time_extracted?: string;
  version?: number;
}

export interface StateMessage {
  type: 'STATE';
  value: unknown;
}

export interface ActivateVersionMessage {
  type: 'ACTIVATE_VERSION';
  stream: string;
  version: number;
}

/** Meltano SDK batch: the stream's records are in the files of `manifest` (see batch-files.ts). */
export interface BatchMessage {
  type: 'BATCH';
  stream: string;
  encoding: { format: string; compression?: string };
  manifest: string[];
}

export type SingerMessage = SchemaMessage | RecordMessage | StateMessage | ActivateVersionMessage | BatchMessage;

/** A message with the 1-based input line it came from. */
export interface InputMessage {
  line: number;
  message: SingerMessage;
}
