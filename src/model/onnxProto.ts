/**
 * A minimal ONNX (protobuf) writer: just the messages a small single-graph model needs.
 * Field numbers are those of onnx.proto3 (ModelProto, GraphProto, NodeProto, TensorProto, ...).
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
const bytes = (field: number, payload: Uint8Array): Field => Uint8Array.from([...key(field, 2), ...varint(payload.length), ...payload]);
const str = (field: number, text: string): Field => bytes(field, new TextEncoder().encode(text));
const message = (field: number, ...parts: Field[]): Field => bytes(field, concat(parts));

function concat(parts: Field[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** TensorProto.DataType.FLOAT */
const FLOAT = 1;

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

/** A float tensor ValueInfoProto; a string dim is symbolic (dim_param), a number fixed (dim_value). */
export function floatValue(name: string, dims: Array<number | string>): Field {
  const dim = (d: number | string) => message(1, typeof d === 'number' ? int(1, d) : str(2, d));
  const shape = message(2, ...dims.map(dim));
  return concat([str(1, name), message(2, message(1, int(1, FLOAT), shape))]);
}

export interface GraphParts {
  name: string;
  nodes: Field[];
  initializers: Field[];
  inputs: Field[];
  outputs: Field[];
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
