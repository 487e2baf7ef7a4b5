// Which availability zones the VPC spans (pure). Zones are chosen by zone ID, never by name: a name such
// as us-east-1a maps to a different physical zone in each account, a zone ID (use1-az1) does not.

/** Zone IDs where EKS cannot place a cluster's control-plane network interfaces (EKS user guide, "VPC and subnet requirements"). */
export const EKS_UNSUPPORTED_ZONE_IDS: readonly string[] = ["use1-az3", "usw1-az2", "cac1-az3"];

/** The instance types one enabled node group may launch, and the config key that sets them (for messages). */
export interface GroupInstanceTypes {
    group: string;
    configKey: string;
    instanceTypes: readonly string[];
}

/** EC2 DescribeInstanceTypeOfferings by availability-zone-id, as parallel lists (the provider's shape). */
export interface Offerings {
    instanceTypes: readonly string[];
    locations: readonly string[];
}

export interface ZoneChoice {
    /** The `count` best zones: where a VPC created today puts its subnets. */
    zoneIds: string[];
    /** Every zone EKS can use, best first (zoneIds is its head): where a subnet added later goes (zoneForSubnet). */
    ranked: string[];
    warnings: string[];
}

/** Instance types offered per zone ID. */
export function offeredByZone(offerings: Offerings): Map<string, Set<string>> {
    const byZone = new Map<string, Set<string>>();
    offerings.locations.forEach((zoneId, i) => {
        const type = offerings.instanceTypes[i];
        if (type === undefined) return;
        const set = byZone.get(zoneId) ?? new Set<string>();
        set.add(type);
        byZone.set(zoneId, set);
    });
    return byZone;
}

/**
 * Chooses `count` zone IDs of the region: never a zone EKS refuses; first the zones where every group's
 * every type is offered, then zones where each group has at least one type, then the rest; ties by zone
 * ID, so every account in a region picks the same physical zones. Throws when the region has too few
 * zones, or when a group's types are offered in none of the chosen zones.
 */
export function chooseZones(
    region: string,
    zoneIds: readonly string[],
    offerings: Offerings,
    groups: readonly GroupInstanceTypes[],
    count: number,
): ZoneChoice {
    const offered = offeredByZone(offerings);
    const has = (zoneId: string, type: string): boolean => offered.get(zoneId)?.has(type) ?? false;
    const candidates = zoneIds.filter((z) => !EKS_UNSUPPORTED_ZONE_IDS.includes(z));
    if (candidates.length < count) {
        throw new Error(
            `eks-inference:azCount is ${count}, but ${region} has only ${candidates.length} zones EKS can use ` +
                `(${candidates.join(", ") || "none"}; EKS refuses ${EKS_UNSUPPORTED_ZONE_IDS.join(", ")}): lower azCount`,
        );
    }
    const rank = (zoneId: string): number => {
        if (groups.every((g) => g.instanceTypes.every((t) => has(zoneId, t)))) return 0;
        if (groups.every((g) => g.instanceTypes.some((t) => has(zoneId, t)))) return 1;
        return 2;
    };
    const ranked = [...candidates].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    const chosen = ranked.slice(0, count);
    const warnings: string[] = [];
    for (const g of groups) {
        const zonesWithAny = chosen.filter((z) => g.instanceTypes.some((t) => has(z, t)));
        if (zonesWithAny.length === 0) {
            const anywhere = g.instanceTypes.filter((t) => candidates.some((z) => has(z, t)));
            throw new Error(
                `eks-inference:${g.configKey}: EC2 offers none of ${g.instanceTypes.join(", ")} in the zones chosen in ${region} ` +
                    `(${chosen.join(", ")})${anywhere.length === 0 ? ` nor anywhere else in ${region}` : ""}: the ${g.group} node group would never get a node. ` +
                    `Choose instance types offered in ${region}, or another region.`,
            );
        }
        if (zonesWithAny.length < chosen.length) {
            warnings.push(
                `${g.group} nodes can launch only in ${zonesWithAny.join(", ")} of the chosen zones (${chosen.join(", ")}): ` +
                    `EC2 offers none of ${g.instanceTypes.join(", ")} in the others`,
            );
        }
        for (const t of g.instanceTypes) {
            if (!chosen.some((z) => has(z, t)))
                warnings.push(
                    `${g.group}: ${t} is offered in none of the chosen zones (${chosen.join(", ")}); the group uses its other types`,
                );
        }
    }
    return { zoneIds: chosen, ranked, warnings };
}

/**
 * The zone of the next subnet pair: the best-ranked zone no earlier subnet occupies (`taken`: the zones the
 * subnets before it have, as created). A subnet keeps the zone it was created in, so once EC2's offerings or
 * the node groups change, the ranking no longer starts with the VPC's zones; a subnet added later (azCount
 * raised) must still get a zone of its own: an interface endpoint takes one subnet per zone (EC2 refuses a
 * second with DuplicateSubnetsInSameZone), and a second subnet in one zone adds nothing. On a new VPC this is
 * exactly the ranking's head.
 */
export function zoneForSubnet(ranked: readonly string[], taken: readonly string[]): string {
    const zone = ranked.find((z) => !taken.includes(z));
    if (zone === undefined) {
        throw new Error(
            `eks-inference:azCount: every zone EKS can use here (${ranked.join(", ")}) already has a subnet of this VPC (${taken.join(", ")}): lower azCount`,
        );
    }
    return zone;
}

/** The subnets (by index) a node group may use: those in zones offering at least one of its types. */
export function subnetsForTypes(subnetZoneIds: readonly string[], offerings: Offerings, instanceTypes: readonly string[]): number[] {
    const offered = offeredByZone(offerings);
    return subnetZoneIds.flatMap((z, i) => (instanceTypes.some((t) => offered.get(z)?.has(t) ?? false) ? [i] : []));
}
