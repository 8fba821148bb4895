import type OpenAI from 'openai';
import { z } from 'zod';
import type { AgentTool } from './tool.types.js';

const Args = z.object({ prompt: z.string().trim().min(3).max(4000) });

/**
 * `generate_image(prompt)`: creates an image with the images API and attaches it to the reply.
 * Providers that return base64 only (e.g. gpt-image-1) yield a `data:` URL.
 */
export function generateImageTool(client: OpenAI, opts: { model: string; size: string }): AgentTool {
  return {
    name: 'generate_image',
    description: 'Create an image from a description and send it to the customer with your reply. Use only when the customer asks for a picture.',
    parameters: {
      type: 'object',
      properties: { prompt: { type: 'string', description: 'A detailed description of the image.' } },
      required: ['prompt'],
    },
    timeoutMs: 60_000,
    async handler(args, ctx) {
      const { prompt } = Args.parse(args);
      const res = await client.images.generate(
        { model: opts.model, prompt, n: 1, size: opts.size },
        { signal: ctx.signal },
      );
      const item = res.data?.[0];
      const url = item?.url ?? (item?.b64_json ? `data:image/png;base64,${item.b64_json}` : undefined);
      if (!url) throw new Error('the images API returned no image');
      return { content: 'The image was created and will be sent with your reply. Describe it in one short sentence.', media: [{ kind: 'image', url, mimeType: 'image/png' }] };
    },
  };
}
