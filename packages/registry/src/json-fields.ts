// Go's encoding/json matches object keys to struct fields case-insensitively (exact match preferred).
// Flannel's config is decoded that way, so `{"network": ...}` is as valid as `{"Network": ...}`.

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The key of `obj` that Go would bind to field `name`, or undefined. */
export function goKey(obj: JsonObject, name: string): string | undefined {
  if (Object.hasOwn(obj, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(obj).find((k) => k.toLowerCase() === lower);
}

export function goField(obj: JsonObject, name: string): unknown {
  const key = goKey(obj, name);
  return key === undefined ? undefined : obj[key];
}
