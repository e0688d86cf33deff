// Asks a KRaft controller who leads the metadata quorum (the active controller), with one
// DescribeQuorum request (API key 55, version 0) written by hand: kafkajs does not know the API, and
// Kafka's own tool would cost a JVM start per question. Only the controller that leads the quorum
// answers without an error; the others answer NOT_LEADER_OR_FOLLOWER.
//
// Wire format (flexible version): a size-prefixed request with header v2 (api key, version,
// correlation id, client id as a classic int16 string, tagged fields), then the body; the response
// header v1 is the correlation id and tagged fields. Arrays and strings in the body are "compact":
// their length + 1 as an unsigned varint.
import { Socket } from 'node:net';

const API_KEY = 55;
const METADATA_TOPIC = '__cluster_metadata';

function uvarint(value) {
  const bytes = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

function requestBytes(correlationId) {
  const clientId = Buffer.from('finaegis-quorum');
  const topic = Buffer.from(METADATA_TOPIC);
  const header = Buffer.alloc(10);
  header.writeInt16BE(API_KEY, 0);
  header.writeInt16BE(0, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(clientId.length, 8);
  const partition = Buffer.alloc(4);
  partition.writeInt32BE(0, 0);
  const body = Buffer.concat([
    header,
    clientId,
    uvarint(0), // header tagged fields
    uvarint(2), // topics: one
    uvarint(topic.length + 1),
    topic,
    uvarint(2), // partitions: one
    partition,
    uvarint(0), // partition tagged fields
    uvarint(0), // topic tagged fields
    uvarint(0), // request tagged fields
  ]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

class Reader {
  constructor(buffer) {
    this.buffer = buffer;
    this.offset = 0;
  }
  int16() {
    const v = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  int32() {
    const v = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  int64() {
    const v = this.buffer.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }
  uvarint() {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = this.buffer[this.offset++];
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value >>> 0;
      shift += 7;
    }
  }
  compactString() {
    const length = this.uvarint() - 1;
    const text = this.buffer.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return text;
  }
  skipTaggedFields() {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.offset += this.uvarint();
    }
  }
}

/** The answer for the one partition asked about (`__cluster_metadata` partition 0). */
function parseResponse(payload) {
  const r = new Reader(payload);
  r.int32(); // correlation id
  r.skipTaggedFields();
  const errorCode = r.int16();
  if (errorCode !== 0) return { errorCode };
  if (r.uvarint() - 1 < 1) return { errorCode: -1 }; // topics
  r.compactString();
  if (r.uvarint() - 1 < 1) return { errorCode: -1 }; // partitions
  r.int32(); // partition index
  const partitionError = r.int16();
  const leaderId = r.int32();
  const leaderEpoch = r.int32();
  const highWatermark = r.int64();
  const replicas = () => {
    const list = [];
    const n = r.uvarint() - 1;
    for (let i = 0; i < n; i++) {
      const replicaId = r.int32();
      const logEndOffset = r.int64();
      r.skipTaggedFields();
      list.push({ replicaId, logEndOffset });
    }
    return list;
  };
  const voters = replicas();
  const observers = replicas();
  return { errorCode: partitionError, leaderId, leaderEpoch, highWatermark, voters, observers };
}

/**
 * Sends DescribeQuorum to one controller (`host:port` of its CONTROLLER listener).
 * Resolves with `{ errorCode, leaderId, leaderEpoch, highWatermark, voters, observers }` (errorCode 0
 * from the leader; 6, NOT_LEADER_OR_FOLLOWER, from the others), rejects when nothing answers within
 * `timeoutMs`.
 * @param {string} address
 * @param {number} [timeoutMs]
 */
export function describeQuorum(address, timeoutMs = 2_000) {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.split(':').at(-1))];
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let received = Buffer.alloc(0);
    const fail = (error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no DescribeQuorum answer from ${address}`)));
    socket.once('error', fail);
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const size = received.readInt32BE(0);
      if (received.length < 4 + size) return;
      socket.destroy();
      try {
        resolve(parseResponse(received.subarray(4, 4 + size)));
      } catch (error) {
        reject(error);
      }
    });
    socket.connect(port, host, () => socket.write(requestBytes(1)));
  });
}

/**
 * The quorum as the leading controller sees it, asking each controller in turn until one answers
 * as leader: `{ leaderId, leaderEpoch, highWatermark, voters }`, or undefined when none does (no
 * quorum, or all of them down).
 * @param {readonly string[]} controllers
 */
export async function activeQuorum(controllers) {
  for (const address of controllers) {
    const answer = await describeQuorum(address).catch(() => undefined);
    if (answer?.errorCode === 0 && answer.leaderId >= 0) return answer;
  }
  return undefined;
}
