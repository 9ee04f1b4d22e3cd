import assert from 'node:assert/strict';
import type { TestApp } from './app.js';
import { bearer } from './app.js';

/**
 * Ids of tenant resources, keyed by the path-parameter name the API uses for them, for the
 * cross-tenant test. A feature that adds a route with a new path parameter adds its fixture here.
 * `base` holds ids already made (channelId, keyId, userId).
 */
export async function tenantResourceFixtures(t: TestApp, owner: { key: string }, base: Record<string, string>): Promise<Record<string, string>> {
  const h = bearer(owner.key);
  const call = async (method: string, url: string, payload?: object) => {
    const r = await t.app.inject({ method: method as 'GET', url, headers: h, ...(payload ? { payload } : {}) });
    assert.ok(r.statusCode < 300, `${method} ${url}: ${r.statusCode} ${r.body}`);
    return r.json();
  };
  const endpoint = await call('POST', '/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hook', event_types: ['conversation.updated'] });
  const message = await call('POST', '/v1/messages', { channel_id: base.channelId, to: '+14155552671', content: { type: 'text', text: 'fixture' } });
  // A media message, for the routes under a message that need its file (`…/media` answers a 302 to the link).
  const image = await call('POST', '/v1/messages', { channel_id: base.channelId, to: '+14155552671', content: { type: 'image', media: { url: 'https://files.example/fixture.jpg' } } });
  // A conversation change emits an event, which makes a delivery for the endpoint.
  await call('PATCH', `/v1/conversations/${message.conversation_id}`, { status: 'closed' });
  const deliveries = await call('GET', `/v1/webhook-endpoints/${endpoint.id}/deliveries`);
  assert.ok(deliveries.data.length >= 1, 'the conversation change produced a webhook delivery');
  return {
    messageId: message.id,
    mediaMessageId: image.id,
    conversationId: message.conversation_id,
    endpointId: endpoint.id,
    deliveryId: deliveries.data[0].id,
  };
}
