// A FileSource (shared/hf/files.ts) over a model folder on disk, e.g. a path given on the command line
// or a `huggingface-cli download` / `git clone` of a model repository.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { type FileSource, HfFilesError } from '../../shared/hf/files';

/** The file's path inside `root`, refusing names that would climb out of it ("../x", absolute paths). */
function pathInside(root: string, name: string): string {
  const full = path.resolve(root, name);
  const relative = path.relative(root, full);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative))
    throw new HfFilesError(`${JSON.stringify(name)} is not a file name inside ${root}`);
  return full;
}

async function fileSize(file: string): Promise<number | null> {
  try {
    const info = await stat(file);
    return info.isFile() ? info.size : null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** A FileSource reading the files of `folder` (which must exist and be a directory). */
export async function folderSource(folder: string): Promise<FileSource> {
  const root = path.resolve(folder);
  const info = await stat(root).catch(() => null);
  if (!info?.isDirectory()) throw new HfFilesError(`${folder} is not a folder`);
  return {
    label: root,
    has: async (name) => (await fileSize(pathInside(root, name))) !== null,
    size: async (name) => {
      const size = await fileSize(pathInside(root, name));
      if (size === null) throw new HfFilesError(`${name} is missing from ${root}`);
      return size;
    },
    read: async (name, options) => {
      const file = pathInside(root, name);
      try {
        return await readFile(file, { signal: options?.signal });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT')
          throw new HfFilesError(`${name} is missing from ${root}`);
        throw error;
      }
    },
  };
}
