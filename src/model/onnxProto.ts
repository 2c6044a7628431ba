/**
 * A minimal ONNX (protobuf) writer, and a reader that splits a message into its raw fields: just
 * what a small single-graph model, or wrapping an existing graph, needs. Field numbers are those of
 * onnx.proto3 (ModelProto, GraphProto, NodeProto, TensorProto, ...).
 */

type Field = Uint8Array;

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

const key = (field: number, wire: 0 | 2) => varint(field * 8 + wire);
const int = (field: number, value: number): Field => Uint8Array.from([...key(field, 0), ...varint(value)]);
const bytes = (field: number, payload: Uint8Array): Field => concat([Uint8Array.from([...key(field, 2), ...varint(payload.length)]), payload]);
const str = (field: number, text: string): Field => bytes(field, new TextEncoder().encode(text));
const message = (field: number, ...parts: Field[]): Field => bytes(field, concat(parts));

export function concat(parts: Field[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** TensorProto.DataType: FLOAT and UINT8. */
export const FLOAT = 1;
export const UINT8 = 2;

/** A float32 initializer (TensorProto: dims 1, data_type 2, name 8, raw_data 9). */
export function floatTensor(name: string, dims: number[], values: number[]): Field {
  const raw = new Uint8Array(Float32Array.from(values).buffer);
  return concat([...dims.map((d) => int(1, d)), int(2, FLOAT), str(8, name), bytes(9, raw)]);
}

/** An int or ints attribute (AttributeProto: name 1, i 3, ints 8, type 20; INT = 2, INTS = 7). */
export function attribute(name: string, value: number | number[]): Field {
  return Array.isArray(value)
    ? concat([str(1, name), ...value.map((v) => int(8, v)), int(20, 7)])
    : concat([str(1, name), int(3, value), int(20, 2)]);
}

/** NodeProto: input 1, output 2, name 3, op_type 4, attribute 5. */
export function node(op: string, inputs: string[], outputs: string[], attributes: Field[] = []): Field {
  return concat([...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(3, `${op}_${outputs[0]}`), str(4, op), ...attributes.map((a) => bytes(5, a))]);
}

/** A tensor ValueInfoProto (float unless `type` says); a string dim is symbolic (dim_param), a number fixed (dim_value). */
export function tensorValue(name: string, dims: Array<number | string>, type = FLOAT): Field {
  const dim = (d: number | string) => message(1, typeof d === 'number' ? int(1, d) : str(2, d));
  const shape = message(2, ...dims.map(dim));
  return concat([str(1, name), message(2, message(1, int(1, type), shape))]);
}

export interface GraphParts {
  name: string;
  nodes: Field[];
  initializers: Field[];
  inputs: Field[];
  outputs: Field[];
}

/** The GraphProto field numbers a wrapper touches. */
export const GRAPH = { node: 1, initializer: 5, input: 11, output: 12 } as const;
/** ModelProto.graph */
export const MODEL_GRAPH = 7;

/** One field of a serialized message: its number, and its whole encoding (key included) in `raw`. */
export interface RawField {
  field: number;
  raw: Uint8Array;
  /** A length-delimited field's payload (a sub-message, string or bytes). */
  payload?: Uint8Array;
}

/** Splits a serialized message into its top-level fields, in order. */
export function readFields(buf: Uint8Array): RawField[] {
  const fields: RawField[] = [];
  let at = 0;
  const readVarint = (): number => {
    let value = 0;
    for (let scale = 1; ; scale *= 128) {
      if (at >= buf.length) throw new Error('truncated protobuf varint');
      const b = buf[at++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
    }
  };
  while (at < buf.length) {
    const start = at;
    const key = readVarint();
    const wire = key % 8;
    let payload: Uint8Array | undefined;
    if (wire === 0) readVarint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const length = readVarint();
      payload = buf.subarray(at, at + length);
      at += length;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    if (at > buf.length) throw new Error('truncated protobuf field');
    fields.push({ field: Math.floor(key / 8), raw: buf.subarray(start, at), payload });
  }
  return fields;
}

/** A length-delimited field `field` holding `payload` (a sub-message). */
export function messageField(field: number, payload: Uint8Array): Field {
  return bytes(field, payload);
}

/** The name (field 1) of a ValueInfoProto. */
export function valueName(valueInfo: Uint8Array): string | undefined {
  const name = readFields(valueInfo).find((f) => f.field === 1);
  return name?.payload && new TextDecoder().decode(name.payload);
}

/** A serialized ModelProto (ir_version 1, producer 2, graph 7, opset_import 8). */
export function modelBytes(graph: GraphParts, opset = 13): Uint8Array {
  const g = concat([
    ...graph.nodes.map((n) => bytes(1, n)),
    str(2, graph.name),
    ...graph.initializers.map((t) => bytes(5, t)),
    ...graph.inputs.map((v) => bytes(11, v)),
    ...graph.outputs.map((v) => bytes(12, v)),
  ]);
  return concat([int(1, 8), str(2, 'rxvolume'), bytes(7, g), message(8, str(1, ''), int(2, opset))]);
}
