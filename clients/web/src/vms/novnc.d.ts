// The part of noVNC's RFB client (docs/API.md of @novnc/novnc) the graphical console uses.
declare module '@novnc/novnc' {
  export interface RfbEvents {
    connect: CustomEvent<Record<string, never>>;
    disconnect: CustomEvent<{ clean: boolean }>;
    desktopname: CustomEvent<{ name: string }>;
    securityfailure: CustomEvent<{ status: number; reason?: string }>;
  }

  export default class RFB extends EventTarget {
    constructor(
      target: HTMLElement,
      urlOrChannel: string | WebSocket,
      options?: { shared?: boolean },
    );
    scaleViewport: boolean;
    resizeSession: boolean;
    focusOnClick: boolean;
    background: string;
    addEventListener<K extends keyof RfbEvents>(
      type: K,
      listener: (event: RfbEvents[K]) => void,
    ): void;
    disconnect(): void;
    focus(): void;
    sendCtrlAltDel(): void;
  }
}
