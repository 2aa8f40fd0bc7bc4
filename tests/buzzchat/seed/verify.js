const crypto = require('crypto');

function verifyWebhookSignature(payload, signature, secret) {
  const expected = crypto
    .createHmac('sha256', secret)
    .update(payload)
    .digest('hex');
  return crypto.timingSafeEqual(
    Buffer.from(signature),
    Buffer.from(expected)
  );
}

// ---- Driver (ours, not the seed's): the test's input on stdin as JSON
// {"payload", "signature", "secret"}; exit 0 if and only if verifyWebhookSignature returns true.
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const { payload, signature, secret } = JSON.parse(input);
  let verified = false;
  try {
    verified = verifyWebhookSignature(payload, signature, secret) === true;
  } catch (err) {
    // timingSafeEqual throws when the lengths differ: not verified.
    console.error(String(err));
  }
  console.log(verified ? 'verified' : 'rejected');
  process.exit(verified ? 0 : 1);
});
