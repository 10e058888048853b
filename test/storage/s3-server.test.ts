import { test } from 'vitest';
import assert from 'node:assert/strict';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { startTestS3 } from '../support/s3-server.ts';

test('the test S3 server signs, stores, lists, and comes back on the same port with its data', async () => {
  const s3 = await startTestS3();
  try {
    const client = s3.client();
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'users/u_a/x.enc', Body: Buffer.from('hello') }));
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'users/' }));
    assert.deepEqual(
      listed.Contents?.map((o) => [o.Key, o.Size]),
      [['users/u_a/x.enc', 5]],
    );
    await s3.stop();
    await assert.rejects(client.send(new ListObjectsV2Command({ Bucket: s3.bucket })));
    await s3.start();
    const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'users/u_a/x.enc' }));
    assert.equal(await got.Body?.transformToString(), 'hello');
  } finally {
    await s3.cleanup();
  }
});
