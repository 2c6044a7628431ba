import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelAdapter } from './adapter';
import { FLOAT, GRAPH, MODEL_GRAPH, UINT8, attribute, concat, floatTensor, messageField, node, readFields, tensorValue, valueName } from './onnxProto';

/** Input and output names of a byte model (see {@link byteAdapter}). */
export const BYTE_INPUT = 'patches_u8';
export const BYTE_OUTPUT = 'maps_u8';

/**
 * The adapter's model graph wrapped to take and give bytes: `[N,3,H,W]` uint8 CHW patches in
 * (Cast, /255, −mean, /std of `layout` in front of the original input) and `[N,1,H,W]` uint8 maps out
 * (round(255·p): Mul 255, Add ½, Cast behind the original output). The inference threads then feed
 * the tiles' bytes as they are and get a quarter of the bytes back; on a GPU the host↔device copies
 * shrink 4× too. The threshold `p > t` of a map is `byte ≥ round(255·t)` when 255·t is not a
 * whole number plus ½, so text masks do not change.
 */
export function byteModelBytes(source: Uint8Array, adapter: Pick<ModelAdapter, 'inputName' | 'outputName' | 'layout'>): Uint8Array {
  const { inputName, outputName, layout } = adapter;
  const model = readFields(source);
  const graphField = model.find((f) => f.field === MODEL_GRAPH);
  if (!graphField?.payload) throw new Error('not an ONNX model: no graph');
  const graph = readFields(graphField.payload);
  const isPort = (f: (typeof graph)[number], field: number, name: string) => f.field === field && !!f.payload && valueName(f.payload) === name;
  if (!graph.some((f) => isPort(f, GRAPH.input, inputName))) throw new Error(`model has no input ${inputName}`);
  if (!graph.some((f) => isPort(f, GRAPH.output, outputName))) throw new Error(`model has no output ${outputName}`);
  const kept = graph.filter((f) => !isPort(f, GRAPH.input, inputName) && !isPort(f, GRAPH.output, outputName));
  const nodeField = (n: Uint8Array) => messageField(GRAPH.node, n);
  const wrapped = concat([
    nodeField(node('Cast', [BYTE_INPUT], ['rxv_x'], [attribute('to', FLOAT)])),
    nodeField(node('Div', ['rxv_x', 'rxv_255'], ['rxv_x01'])),
    nodeField(node('Sub', ['rxv_x01', 'rxv_mean'], ['rxv_xc'])),
    nodeField(node('Div', ['rxv_xc', 'rxv_std'], [inputName])),
    ...kept.map((f) => f.raw),
    nodeField(node('Mul', [outputName, 'rxv_255'], ['rxv_p255'])),
    nodeField(node('Add', ['rxv_p255', 'rxv_half'], ['rxv_pr'])),
    nodeField(node('Cast', ['rxv_pr'], [BYTE_OUTPUT], [attribute('to', UINT8)])),
    messageField(GRAPH.initializer, floatTensor('rxv_255', [], [255])),
    messageField(GRAPH.initializer, floatTensor('rxv_half', [], [0.5])),
    messageField(GRAPH.initializer, floatTensor('rxv_mean', [1, 3, 1, 1], layout.mean)),
    messageField(GRAPH.initializer, floatTensor('rxv_std', [1, 3, 1, 1], layout.std)),
    messageField(GRAPH.input, tensorValue(BYTE_INPUT, ['N', 3, 'H', 'W'], UINT8)),
    messageField(GRAPH.output, tensorValue(BYTE_OUTPUT, ['N', 1, 'H', 'W'], UINT8)),
  ]);
  return concat(model.map((f) => (f === graphField ? messageField(MODEL_GRAPH, wrapped) : f.raw)));
}

/** Part of the cache key: bump it when `byteModelBytes` changes what it writes. */
const WRAPPER_VERSION = 1;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * The adapter of the byte-wrapped model (see {@link byteModelBytes}): `modelPath`, `sha256` (the
 * identity a published table's marker records), `inputName` and `outputName` are the wrapped
 * model's, and `io` is `uint8`. The wrapped file is written once into `dir`, named by the source's
 * sha256, the layout's normalisation and the wrapper's version. Throws when the source file does not match `adapter.sha256`.
 * An adapter that already has `io: 'uint8'` is returned as it is.
 */
export function byteAdapter(adapter: ModelAdapter, dir = join(tmpdir(), 'rxvolume-models')): ModelAdapter {
  if (adapter.io === 'uint8') return adapter;
  const source = readFileSync(adapter.modelPath);
  const sourceSha = sha256(source);
  if (sourceSha !== adapter.sha256) throw new Error(`model ${adapter.modelPath} has sha256 ${sourceSha}, adapter ${adapter.name} expects ${adapter.sha256}`);
  const { inputName, outputName, layout } = adapter;
  const key = sha256(new TextEncoder().encode(JSON.stringify([WRAPPER_VERSION, sourceSha, inputName, outputName, layout.mean, layout.std]))).slice(0, 24);
  const file = join(dir, `u8-${key}.onnx`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(temp, byteModelBytes(source, adapter));
    renameSync(temp, file);
  }
  return { ...adapter, modelPath: file, sha256: sha256(readFileSync(file)), inputName: BYTE_INPUT, outputName: BYTE_OUTPUT, io: 'uint8' };
}
