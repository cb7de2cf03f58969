import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef } from 'react';
import { ConsoleSection } from './console-section.tsx';

// How the controller ends a console (src/server/console-socket.ts), in words.
const ENDINGS: Record<number, string> = {
  1000: 'The console closed.',
  4403: 'You may no longer use this console.',
  4408: 'The console output was not read in time.',
};

/**
 * SerialConsole is a VM's serial console in the page: a terminal (xterm.js) on the console
 * WebSocket that a single-use ticket opens. What the guest writes shows as it comes; what is
 * typed goes to the guest. Everyone on one VM's console shares it.
 */
export function SerialConsole({ vmId, vmName }: { vmId: string; vmName: string }) {
  return (
    <ConsoleSection
      kind="serial"
      vmId={vmId}
      title="Serial console"
      button="Open serial console"
      render={(path, onEnd) => (
        <ConsoleTerminal path={path} label={`Serial console of ${vmName}`} onEnd={onEnd} />
      )}
    />
  );
}

function ConsoleTerminal({
  path,
  label,
  onEnd,
}: {
  path: string;
  label: string;
  onEnd: (why: string) => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const ended = useRef(onEnd);
  ended.current = onEnd;
  useEffect(() => {
    if (!box.current) return;
    const term = new Terminal({ convertEol: false, cursorBlink: true, fontSize: 14 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(box.current);
    fit.fit();
    term.focus();
    const ws = new WebSocket(
      `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`,
    );
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (e) =>
      term.write(typeof e.data === 'string' ? e.data : new Uint8Array(e.data as ArrayBuffer));
    ws.onclose = (e) => ended.current(ENDINGS[e.code] ?? `The console ended (${e.code}).`);
    const typed = term.onData((data) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(data);
    });
    const resize = () => fit.fit();
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      typed.dispose();
      ws.onclose = null;
      ws.close();
      term.dispose();
    };
  }, [path]);
  return (
    <div className="terminal">
      <div ref={box} role="application" aria-label={label} />
      <p className="hint">Keys typed here go to the guest. Closing the page leaves the console.</p>
    </div>
  );
}
