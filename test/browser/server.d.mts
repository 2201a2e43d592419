export declare const CSP: string;
export declare const CSP_WITHOUT_WASM: string;
export declare function serve(port?: number, host?: string): Promise<{ url: string; close(): Promise<void> }>;
