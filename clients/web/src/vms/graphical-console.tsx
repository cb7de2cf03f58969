import RFB from '@novnc/novnc';
import { useEffect, useRef, useState } from 'react';
import { ConsoleSection } from './console-section.tsx';

const CLOSED = 'The graphical console closed.';
// How the controller ends a display (src/server/display-socket.ts), in words.
const ENDINGS: Record<number, string> = {
  1000: CLOSED,
  1001: 'The controller is stopping.',
  4400: 'The browser and the console did not agree on how to talk.',
  4403: 'You may no longer use this console.',
  4408: 'The console was not answered in time.',
};

/**
 * GraphicalConsole is a VM's screen in the page: noVNC on the display WebSocket that a
 * single-use ticket opens. The controller has logged in to the VM's display already, so the
 * page holds no password; keys and pointer go to the guest.
 */
export function GraphicalConsole({ vmId, vmName }: { vmId: string; vmName: string }) {
  return (
    <ConsoleSection
      kind="display"
      vmId={vmId}
      title="Graphical console"
      button="Open graphical console"
      render={(path, onEnd) => <Screen path={path} label={`Screen of ${vmName}`} onEnd={onEnd} />}
    />
  );
}

function Screen({
  path,
  label,
  onEnd,
}: {
  path: string;
  label: string;
  onEnd: (why: string) => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const rfb = useRef<RFB | null>(null);
  const ended = useRef(onEnd);
  ended.current = onEnd;
  const [desktop, setDesktop] = useState<string | null>(null);
  useEffect(() => {
    if (!box.current) return;
    // The socket is ours, so that its close code (why it ended) can be told.
    const ws = new WebSocket(
      `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`,
    );
    let code = 0;
    ws.addEventListener('close', (e) => {
      code = e.code;
    });
    const screen = new RFB(box.current, ws, { shared: true });
    screen.scaleViewport = true;
    screen.background = '#000';
    screen.addEventListener('connect', () => screen.focus());
    screen.addEventListener('desktopname', (e) => setDesktop(e.detail.name));
    screen.addEventListener('disconnect', (e) =>
      ended.current(
        ENDINGS[code] ??
          (e.detail.clean ? CLOSED : `The graphical console ended (${code || 'lost'}).`),
      ),
    );
    rfb.current = screen;
    return () => {
      rfb.current = null;
      screen.disconnect();
    };
  }, [path]);
  return (
    <div className="screen">
      <div className="toolbar">
        <span role="status">{desktop ? `Showing ${desktop}` : 'Connecting…'}</span>
        <button type="button" onClick={() => rfb.current?.sendCtrlAltDel()}>
          Send Ctrl+Alt+Del
        </button>
        <button type="button" onClick={() => rfb.current?.focus()}>
          Type into the screen
        </button>
        <button type="button" onClick={() => rfb.current?.disconnect()}>
          Close
        </button>
      </div>
      <div ref={box} role="application" aria-label={label} />
      <p className="hint">
        Keys and pointer on the screen go to the guest; click outside it to type elsewhere.
      </p>
    </div>
  );
}
