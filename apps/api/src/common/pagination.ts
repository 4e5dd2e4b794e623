import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { invalidRequest } from './error-body.ts';

/** `?limit=&cursor=`: keyset pagination, so pages stay stable while rows are added. */
export class PageQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50, description: 'Items per page' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @ApiPropertyOptional({ description: 'The nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  cursor?: string;
}

/** Lists are ordered by name then id; a cursor is the last item's (name, id). */
export interface NameCursor {
  name: string;
  id: string;
}

export function encodeCursor(c: NameCursor): string {
  return Buffer.from(JSON.stringify([c.name, c.id]), 'utf8').toString('base64url');
}

export function decodeCursor(text: string | undefined): NameCursor | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      UUID.test(value[1])
    )
      return { name: value[0], id: value[1] };
  } catch {
    // falls through to the 400 below
  }
  throw invalidRequest('invalid request', [
    { path: 'cursor', message: 'not a cursor from this API (use nextCursor from the previous page)' },
  ]);
}

/** Fetch limit + 1 rows; the extra one tells whether there is a next page. */
export function pageOf<T extends NameCursor, R>(
  rows: T[],
  limit: number,
  map: (row: T) => R,
): { items: R[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(map), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}

export const DEFAULT_PAGE_SIZE = 50;

/**
 * One page of a list ordered by name then id (integrations, flows, connections): `?name=` matches
 * a part of the name, `?cursor=` goes on after the previous page. Other filters go on `qb` first.
 */
export async function pageByName<T extends ObjectLiteral & NameCursor, R>(
  qb: SelectQueryBuilder<T>,
  query: { limit?: number; cursor?: string; name?: string },
  map: (row: T) => R,
): Promise<{ items: R[]; nextCursor: string | null }> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const cursor = decodeCursor(query.cursor);
  const a = qb.alias;
  qb.orderBy(`${a}.name`, 'ASC')
    .addOrderBy(`${a}.id`, 'ASC')
    .limit(limit + 1);
  if (query.name !== undefined) qb.andWhere(`${a}.name ILIKE :name`, { name: `%${escapeLike(query.name)}%` });
  if (cursor)
    qb.andWhere(`(${a}.name, ${a}.id) > (:cursorName, :cursorId)`, {
      cursorName: cursor.name,
      cursorId: cursor.id,
    });
  return pageOf(await qb.getMany(), limit, map);
}

/** `text` as a LIKE pattern that matches it literally. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
