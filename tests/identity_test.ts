/**
 * lib/wire/identity.ts: Ed25519 as RFC 8032 defines it (test vector 1 from
 * section 7.1), the fingerprint people compare (the form `ssh-keygen -l` and
 * `openssl dgst -sha256 | base64` give for the same key), and signatures
 * that do not verify when anything is changed.
 */
import { assert, assertEquals } from "./_assert.ts";
import {
  fingerprint,
  generateKeyPair,
  keyPairFromSecret,
  shortFingerprint,
  sign,
  verify,
} from "../lib/wire/identity.ts";

const rfcSecret = Uint8Array.fromHex(
  "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
);

Deno.test("RFC 8032 test 1: the public key and the signature of the empty message", () => {
  const { publicKey } = keyPairFromSecret(rfcSecret);
  assertEquals(
    publicKey.toHex(),
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
  );
  const signature = sign(new Uint8Array(0), rfcSecret);
  assertEquals(
    signature.toHex(),
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065" +
      "224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  );
  assert(verify(signature, new Uint8Array(0), publicKey));
});

Deno.test("a fingerprint is SHA256: and the unpadded BASE64 of the key's SHA-256", () => {
  const { publicKey } = keyPairFromSecret(rfcSecret);
  // printf d75a98…511a | xxd -r -p | openssl dgst -sha256 -binary | base64
  assertEquals(fingerprint(publicKey), "SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk");
  assertEquals(shortFingerprint(publicKey), "SHA256:If4x36FUomFi");
});

Deno.test("a signature fails for another message, another key, a flipped bit or a bad length", () => {
  const ana = generateKeyPair(), bob = generateKeyPair();
  assert(ana.secretKey.length === 32 && ana.publicKey.length === 32);
  assert(fingerprint(ana.publicKey) !== fingerprint(bob.publicKey));
  const challenge = crypto.getRandomValues(new Uint8Array(32));
  const signature = sign(challenge, ana.secretKey);
  assert(verify(signature, challenge, ana.publicKey));
  assert(!verify(signature, challenge, bob.publicKey));
  const other = challenge.slice();
  other[0]! ^= 1;
  assert(!verify(signature, other, ana.publicKey));
  const flipped = signature.slice();
  flipped[10]! ^= 0x40;
  assert(!verify(flipped, challenge, ana.publicKey));
  assert(!verify(signature.subarray(0, 63), challenge, ana.publicKey));
  assert(!verify(signature, challenge, new Uint8Array(31)));
  assert(!verify(new Uint8Array(64), challenge, ana.publicKey));
});
