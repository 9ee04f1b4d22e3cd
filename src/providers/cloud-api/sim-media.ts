import { createHash, randomInt } from 'node:crypto';
import type { SimRequest } from '../simulator-kit.js';
import type { SimError } from './sim-validate.js';

/**
 * The simulator's media store: multipart upload → id, `GET /{media-id}` → short-lived URL,
 * `GET <url>` with the bearer token → bytes. Types and sizes as Meta accepts them
 * (whatsapp-api-js `uploadMedia`, CONTRACTS.md §1.5).
 */

const MB = 1024 * 1024;
const ALLOWED: Record<string, number> = {
  'image/jpeg': 5 * MB,
  'image/png': 5 * MB,
  'image/webp': 500 * 1024, // stickers
  'audio/aac': 16 * MB,
  'audio/amr': 16 * MB,
  'audio/mpeg': 16 * MB,
  'audio/mp4': 16 * MB,
  'audio/ogg': 16 * MB,
  'video/mp4': 16 * MB,
  'video/3gpp': 16 * MB,
  'text/plain': 100 * MB,
  'application/pdf': 100 * MB,
  'application/msword': 100 * MB,
  'application/vnd.ms-excel': 100 * MB,
  'application/vnd.ms-powerpoint': 100 * MB,
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 100 * MB,
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 100 * MB,
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 100 * MB,
};

/** Meta's download URLs stop working after five minutes. */
const URL_TTL_MS = 5 * 60_000;

export interface SimMediaFile {
  id: string;
  phoneNumberId: string;
  data: Buffer;
  mimeType: string;
  filename: string | undefined;
  sha256: string;
}

const missing = (param: string): SimError => ({
  status: 400,
  code: 100,
  message: `(#100) The parameter ${param} is required.`,
  details: '',
});

export class SimMediaStore {
  private readonly files = new Map<string, SimMediaFile>();

  constructor(
    private readonly baseUrl: () => string,
    private readonly now: () => number = Date.now,
  ) {}

  get(id: string): SimMediaFile | undefined {
    return this.files.get(id);
  }

  delete(id: string): boolean {
    return this.files.delete(id);
  }

  /** Adds a file directly (inbound media a test wants to download). */
  put(phoneNumberId: string, data: Buffer, mimeType: string, filename?: string): SimMediaFile {
    // Meta media ids are 15–16 digit numbers.
    const id = `${randomInt(1, 10)}${String(randomInt(0, 2 ** 47)).padStart(15, '0')}`;
    const file = {
      id,
      phoneNumberId,
      data,
      mimeType,
      filename,
      sha256: createHash('sha256').update(data).digest('hex'),
    };
    this.files.set(id, file);
    return file;
  }

  async upload(req: SimRequest, phoneNumberId: string): Promise<{ id: string } | { error: SimError }> {
    const ct = req.headers['content-type'] ?? '';
    if (!ct.toLowerCase().startsWith('multipart/form-data')) return { error: missing('file') };
    let form: FormData;
    try {
      form = await new Response(req.body, { headers: { 'content-type': ct } }).formData();
    } catch {
      return { error: missing('file') };
    }
    if (form.get('messaging_product') !== 'whatsapp') return { error: missing('messaging_product') };
    const file = form.get('file');
    if (file === null || typeof file === 'string') return { error: missing('file') };
    const typeField = form.get('type');
    const mimeType = (typeof typeField === 'string' && typeField ? typeField : file.type)
      .split(';')[0]!
      .trim()
      .toLowerCase();
    const max = ALLOWED[mimeType];
    if (max === undefined) {
      return {
        error: {
          status: 400,
          code: 100,
          message:
            '(#100) Param file must be a file with one of the following types: ' +
            Object.keys(ALLOWED).join(', '),
          details: `unsupported type ${mimeType}`,
        },
      };
    }
    const data = Buffer.from(await file.arrayBuffer());
    if (data.length === 0 || data.length > max) {
      return {
        error: {
          status: 400,
          code: 131053,
          message: '(#131053) Media upload error',
          details: `file size ${data.length} is outside 1..${max} bytes for ${mimeType}`,
        },
      };
    }
    return { id: this.put(phoneNumberId, data, mimeType, 'name' in file ? String(file.name) : undefined).id };
  }

  describe(id: string): Record<string, unknown> | undefined {
    const f = this.files.get(id);
    if (!f) return undefined;
    const q = new URLSearchParams({ mid: f.id, ext: String(this.now()), hash: f.sha256.slice(0, 16) });
    return {
      messaging_product: 'whatsapp',
      url: `${this.baseUrl()}/whatsapp_business/attachments/?${q}`,
      mime_type: f.mimeType,
      sha256: f.sha256,
      file_size: String(f.data.length), // a string, as Meta sends it
      id: f.id,
    };
  }

  /** The file a download URL points at, if the URL is genuine and younger than five minutes. */
  fromUrl(query: Record<string, string>): SimMediaFile | undefined {
    const f = query.mid ? this.files.get(query.mid) : undefined;
    const issued = Number(query.ext);
    if (
      !f ||
      query.hash !== f.sha256.slice(0, 16) ||
      !Number.isFinite(issued) ||
      this.now() - issued > URL_TTL_MS
    )
      return undefined;
    return f;
  }
}
