import { Module } from '@nestjs/common';
import { Edges } from '../../edges/edges.js';
import { GraphQLLimits } from './graphql-limits.js';

/** GraphQLLimits from the edges' options, for Apollo's configuration factory and the graphql-ws server. */
@Module({
  providers: [{ provide: GraphQLLimits, inject: [Edges], useFactory: (edges: Edges) => new GraphQLLimits(edges.options.graphql) }],
  exports: [GraphQLLimits],
})
export class GraphQLLimitsModule {}
