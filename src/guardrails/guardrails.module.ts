import { Module } from '@nestjs/common';
import { LlmModule } from '../llm/llm.module.js';
import { GuardrailsStage } from './guardrails-stage.js';
import { guardrailsStrategyProvider } from './guardrails-strategy.provider.js';

/** Guardrails: the configured strategy and the policy stage that applies it to every run. */
@Module({ imports: [LlmModule], providers: [guardrailsStrategyProvider, GuardrailsStage] })
export class GuardrailsModule {}
