/** The bench's console progress lines, silenced once the run has failed or been interrupted. */

/** Set once the run has failed or been interrupted: work still winding down stays quiet. */
let quiet = false;

export const log = (message: string): void => {
  if (!quiet) console.log(`[bench] ${message}`);
};

export function beQuiet(): void {
  quiet = true;
}

/** True once the run has failed or been interrupted (phases still running should give up). */
export const isQuiet = (): boolean => quiet;
