// The project's msgpack codec, imported from the build (dist/) rather than
// configured again here: the floors encode and decode exactly what the dbm
// and the sessions do. `packr` is the shared msgpackr instance (plain maps,
// moreTypes, big BigInts, copied buffers); `msgpackCodec` adds Map round-trips.

export { packr, msgpackCodec } from '../../dist/codec.js';
