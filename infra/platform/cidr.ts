// IPv4 subnet arithmetic for carving the VPC CIDR into per-AZ subnets.

function toInt(ip: string): number {
    return ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function toIp(n: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** The `index`-th subnet of `cidr` that is `newBits` longer (like Terraform's cidrsubnet). */
export function cidrSubnet(cidr: string, newBits: number, index: number): string {
    const [ip, bitsText] = cidr.split("/");
    const bits = Number(bitsText);
    const prefix = bits + newBits;
    if (ip === undefined || !Number.isInteger(bits) || prefix > 32) throw new Error(`cannot split ${cidr} by ${newBits} bits`);
    if (index < 0 || index >= 2 ** newBits) throw new Error(`subnet index ${index} out of range for ${cidr} + ${newBits} bits`);
    const base = toInt(ip) - (toInt(ip) % 2 ** (32 - bits));
    return `${toIp(base + index * 2 ** (32 - prefix))}/${prefix}`;
}
