// Node half of scripts/convert_tiny_face.py: runs face-api's own TinyFaceDetector on tfjs's
// pure-JS CPU backend and writes what it computes. Not meant to be run by hand:
//
//     node scripts/tiny_face_golden.mjs NODE_PROJECT MODEL_DIR WORK_DIR INPUT_SIZE THRESHOLD...
//
// NODE_PROJECT  a folder whose node_modules holds @vladmandic/face-api, @tensorflow/tfjs and
//               @tensorflow/tfjs-backend-wasm (face-api.node-wasm.js requires both; only the
//               "cpu" backend is used, so no .wasm file is ever loaded)
// MODEL_DIR     the package's model/ folder (tiny_face_detector_model-weights_manifest.json + .bin)
// WORK_DIR      holds images.json ([{name, height, width, file}], each file raw RGB uint8, HWC);
//               this script writes results.json there and, per image, <name>.input.f32: the
//               network input face-api builds (NHWC [1, S, S, 3] float32, little endian).
// THRESHOLD...  score thresholds to run the detector with (face-api's default is 0.5)
//
// Everything below goes through face-api's own code paths: NetInput.toBatchTensor (pad to
// square, resize), TinyYolov2Base.forwardInput (mean subtraction, / 255, the network) and
// TinyFaceDetector.locateFaces (decode, score threshold, NMS) -- the same calls
// faceapi.detectAllFaces(tensor, new TinyFaceDetectorOptions(...)) makes.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [projectDir, modelDir, workDir, sizeArg, ...thresholdArgs] = process.argv.slice(2);
const inputSize = Number(sizeArg);
const require = createRequire(path.join(path.resolve(projectDir), 'package.json'));
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const { tf } = faceapi;

await tf.setBackend('cpu');
await tf.ready();
if (tf.getBackend() !== 'cpu') throw new Error(`backend is ${tf.getBackend()}, wanted cpu`);

const net = faceapi.nets.tinyFaceDetector;
await net.loadFromDisk(modelDir);

const images = JSON.parse(fs.readFileSync(path.join(workDir, 'images.json'), 'utf8'));
const results = {
  versions: {
    faceapi: faceapi.version,
    tfjs: tf.version.tfjs,
    'tfjs-core': tf.version['tfjs-core'],
    'tfjs-backend-cpu': tf.version['tfjs-backend-cpu'],
    node: process.version,
  },
  backend: tf.getBackend(),
  config: {
    anchors: net.config.anchors.map((p) => [p.x, p.y]),
    meanRgb: net.config.meanRgb,
    iouThreshold: net.config.iouThreshold,
    withClassScores: net.withClassScores,
    boxEncodingSize: net.boxEncodingSize,
    filterSizes: net.config.filterSizes,
    isFirstLayerConv2d: net.config.isFirstLayerConv2d,
  },
  // The dequantised weights exactly as tfjs decoded them (float32), for the converter to compare.
  weights: Object.fromEntries(net.getParamList().map(({ path: p, tensor }) => [p, Array.from(tensor.dataSync())])),
  images: {},
};

for (const img of images) {
  const pixels = new Uint8Array(fs.readFileSync(path.join(workDir, img.file)));
  // int32 HWC, as tf.node.decodeImage would give it
  const image = tf.tensor3d(Int32Array.from(pixels), [img.height, img.width, 3], 'int32');

  const netInput = await faceapi.toNetInput(image);
  // the tensor forwardInput feeds the first conv: cast(toBatchTensor(S, false)) - meanRgb, / 255
  const x = tf.tidy(() => {
    const batch = tf.cast(netInput.toBatchTensor(inputSize, false), 'float32');
    return faceapi.normalize(batch, net.config.meanRgb).div(255);
  });
  fs.writeFileSync(path.join(workDir, `${img.name}.input.f32`), Buffer.from(x.dataSync().buffer));
  x.dispose();

  const out = net.forwardInput(netInput, inputSize);
  const raw = Array.from(out.dataSync());
  const outShape = out.shape;
  out.dispose();

  const reshaped = netInput.getReshapedInputDimensions(0);
  const runs = {};
  for (const t of thresholdArgs) {
    const options = new faceapi.TinyFaceDetectorOptions({ inputSize, scoreThreshold: Number(t) });
    // the candidates before NMS, as TinyYolov2Base.detect computes them
    const out0 = net.forwardInput(netInput, inputSize);
    const boxes = await net.extractBoxes(out0, netInput.getReshapedInputDimensions(0), options.scoreThreshold);
    out0.dispose();
    const detections = await net.locateFaces(image, options);
    runs[t] = {
      score_threshold: options.scoreThreshold,
      candidates: boxes.map((b) => ({
        row: b.row, col: b.col, anchor: b.anchor, score: b.score,
        box_relative: [b.box.left, b.box.top, b.box.right, b.box.bottom],
      })),
      detections: detections.map((d) => ({
        score: d.score,
        box: [d.box.left, d.box.top, d.box.right, d.box.bottom],
        box_relative: [d.relativeBox.left, d.relativeBox.top, d.relativeBox.right, d.relativeBox.bottom],
      })),
    };
  }
  image.dispose();
  results.images[img.name] = {
    image_hw: [img.height, img.width],
    reshaped_wh: [reshaped.width, reshaped.height],
    output_shape: outShape,
    raw,
    runs,
  };
}
fs.writeFileSync(path.join(workDir, 'results.json'), JSON.stringify(results));
